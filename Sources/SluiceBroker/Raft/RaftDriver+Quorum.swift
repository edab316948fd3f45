import SluiceCore
import SluiceRaft

/// The metadata quorum as one node sees it, for DescribeQuorum and `sluice cluster status`.
struct RaftQuorumStatus: Sendable, Equatable {
    struct Voter: Sendable, Equatable {
        var id: NodeID
        /// The highest index known to be on the voter (the leader's own last index for itself);
        /// nil where this node does not know it (it is not the leader).
        var matchIndex: RaftIndex?
    }

    var leader: NodeID?
    var term: RaftTerm
    var isLeader: Bool
    var raftCommitIndex: RaftIndex
    var voters: [Voter]
    var learners: [Voter]
}

extension RaftDriver {
    /// A consistent snapshot of the quorum: terms, commit index, and on the leader every
    /// member's match index (the core's progress).
    func quorumStatus() -> RaftQuorumStatus {
        let leading = node.role == .leader
        func member(_ id: NodeID) -> RaftQuorumStatus.Voter {
            guard leading else { return .init(id: id, matchIndex: nil) }
            return .init(id: id, matchIndex: id == node.id ? node.lastIndex : node.matchIndex(of: id))
        }
        return RaftQuorumStatus(
            leader: node.leader, term: node.term, isLeader: leading, raftCommitIndex: node.raftCommitIndex,
            voters: node.configuration.voters.map(member), learners: node.configuration.learners.map(member))
    }
}
