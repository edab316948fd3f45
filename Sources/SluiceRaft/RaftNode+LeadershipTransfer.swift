import SluiceCore

extension RaftNode {
    /// Hand leadership to `target` (thesis §3.10): stop taking proposals, bring the target up
    /// to date, then tell it to campaign at once (TimeoutNow). Abandoned after an election
    /// timeout; the caller sees the outcome in `leader`.
    public mutating func transferLeadership(to target: NodeID) throws(TransferError) {
        guard role == .leader else { throw .notLeader(knownLeader: leader) }
        guard configuration.isVoter(target), target != id else { throw .notAVoter(target) }
        if leadTransferee == target { return }
        leadTransferee = target
        // Give the transfer a full election timeout before giving up on it.
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(target, .timeoutNow)
        } else {
            sendAppends(to: target, allowEmpty: true)
        }
    }
}
