import SluiceCore

/// The application's state at `index`, which replaces every log entry up to and including
/// `index`. Raft never looks inside `data`.
public struct RaftSnapshot: Sendable, Equatable, CustomStringConvertible {
    /// The last log index the snapshot covers.
    public let index: RaftIndex
    /// The term of the entry at `index`, so that log matching still works at the boundary.
    public let term: RaftTerm
    public let configuration: RaftConfiguration
    public let data: [UInt8]

    public init(index: RaftIndex, term: RaftTerm, configuration: RaftConfiguration, data: [UInt8]) {
        self.index = index
        self.term = term
        self.configuration = configuration
        self.data = data
    }

    public var description: String { "snapshot(\(index)@\(term), \(data.count)B)" }
}
