import SluiceCore

/// Everything a node persisted, handed back to `RaftNode.init` on restart.
public struct RaftPersistentState: Sendable, Equatable {
    public var hardState: HardState
    /// The newest persisted snapshot; entries before it are gone.
    public var snapshot: RaftSnapshot?
    /// Invariant: contiguous, starting right after `snapshot?.index ?? 0`.
    public var entries: [RaftEntry]

    public init(hardState: HardState = .initial, snapshot: RaftSnapshot? = nil, entries: [RaftEntry] = []) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }

    public static let empty = RaftPersistentState()
}
