import SluiceCore

/// One entry of the Raft log. The payload is opaque to Raft: the metadata layer encodes its
/// records into `data`; Raft only orders and replicates them.
public struct RaftEntry: Sendable, Equatable, CustomStringConvertible {
    /// What an entry is for. Raft interprets only `.leaderChange`; the application skips it.
    public enum Kind: UInt8, Sendable {
        /// An application record.
        case normal = 0
        /// The empty entry a new leader appends in its term, so that it can commit everything
        /// before it by counting replicas of a current-term entry (Raft paper §5.4.2).
        case leaderChange = 1
    }

    public let term: RaftTerm
    public let index: RaftIndex
    public let kind: Kind
    public let data: [UInt8]

    public init(term: RaftTerm, index: RaftIndex, kind: Kind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    public var description: String { "\(index)@\(term)\(kind == .leaderChange ? "*" : "")" }
}
