import SluiceCore

/// What a node must fsync before it acts on it: a vote or an acknowledged append must never
/// be forgotten by a crash (Raft paper Figure 2, "persistent state").
public struct HardState: Sendable, Equatable, CustomStringConvertible {
    public var term: RaftTerm
    /// The candidate this node voted for in `term`, if any.
    public var vote: NodeID?
    /// Persisted so that a restarted node need not re-learn it; never ahead of the log.
    public var raftCommitIndex: RaftIndex

    public init(term: RaftTerm = .zero, vote: NodeID? = nil, raftCommitIndex: RaftIndex = .zero) {
        self.term = term
        self.vote = vote
        self.raftCommitIndex = raftCommitIndex
    }

    public static let initial = HardState()

    public var description: String {
        "hs(term \(term), vote \(vote.map { "\($0)" } ?? "-"), commit \(raftCommitIndex))"
    }
}
