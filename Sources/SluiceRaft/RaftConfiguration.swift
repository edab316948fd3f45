import SluiceCore

/// Who takes part in the Raft group: voters elect leaders and make up quorums; learners
/// replicate and apply the log without voting (DESIGN §2.1: brokers outside
/// `controller.voters`).
public struct RaftConfiguration: Sendable, Equatable {
    /// Invariant: sorted, unique, not empty, disjoint from `learners`. Sorted so that every
    /// iteration (broadcasts, quorum counting) is deterministic for the simulator.
    public let voters: [NodeID]
    /// Invariant: sorted, unique, disjoint from `voters`.
    public let learners: [NodeID]

    public init(voters: [NodeID], learners: [NodeID] = []) {
        let v = Array(Set(voters)).sorted()
        let l = Array(Set(learners)).sorted()
        precondition(!v.isEmpty, "a Raft group needs at least one voter")
        precondition(Set(v).isDisjoint(with: l), "a node is either a voter or a learner")
        precondition(v.count == voters.count && l.count == learners.count, "duplicate node ids")
        self.voters = v
        self.learners = l
    }

    /// Every member, voters first.
    public var members: [NodeID] { voters + learners }

    /// Votes (or matching replicas) needed to decide: a strict majority of voters.
    public var quorum: Int { voters.count / 2 + 1 }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func isLearner(_ id: NodeID) -> Bool { learners.contains(id) }
    public func contains(_ id: NodeID) -> Bool { isVoter(id) || isLearner(id) }
}
