import SluiceCore
import SluiceRaft

extension RaftDriver {
    /// Hands leadership to `target`, or by default to the voter with the highest match index
    /// (the one that can take over soonest), and returns once another node leads. For graceful
    /// shutdown and rebalancing; proposals are refused while it is in progress.
    public func transferLeadership(to target: NodeID? = nil) async throws(RaftTransferError) {
        guard state == .running else { throw .stopped }
        guard node.role == .leader else { throw .notLeader(leaderHint: node.leader) }
        let others = node.configuration.voters.filter { $0 != id }
        let chosen = target ?? others.max {
            (node.matchIndex(of: $0) ?? .zero, $1) < (node.matchIndex(of: $1) ?? .zero, $0)
        }
        guard let chosen else { throw .noOtherVoter }
        do {
            try node.transferLeadership(to: chosen)
        } catch {
            switch error {
            case .notLeader(let known): throw .notLeader(leaderHint: known)
            case .notAVoter(let n): throw .notAVoter(n)
            }
        }
        afterEvent()
        // The core abandons a transfer after an election timeout; wait a little longer.
        let deadline = ContinuousClock.now + configuration.tickInterval * (2 * configuration.options.electionTicks)
        while ContinuousClock.now < deadline {
            do { try await Task.sleep(for: configuration.tickInterval) } catch { throw .stopped }
            guard state == .running else { throw .stopped }
            if node.role != .leader, node.leader != nil { return }
        }
        throw .timedOut
    }
}
