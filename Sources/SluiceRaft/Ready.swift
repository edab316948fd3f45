import SluiceCore

/// What a node asks its driver to do, taken with `RaftNode.ready()` and confirmed with
/// `RaftNode.advance(_:)`. The driver must, in this order:
///
/// 1. persist `snapshot` (if any; it replaces the whole log), then `entries` (each one
///    replaces any persisted entry at its index and after), then `hardState` (if any), and
///    fsync;
/// 2. only then send `messages` — a vote or an append acknowledgement in them promises that
///    the state behind it survives a crash;
/// 3. restore the state machine from `snapshot` (if any), then apply `committedEntries` in
///    order (skipping `.leaderChange` entries);
/// 4. call `advance(ready)`.
///
/// The node may be stepped, ticked and proposed to between `ready()` and `advance`; it hands
/// out no new `Ready` until `advance`.
public struct Ready: Sendable, Equatable {
    public var hardState: HardState?
    public var snapshot: RaftSnapshot?
    public var entries: [RaftEntry]
    public var messages: [RaftMessage]
    public var committedEntries: [RaftEntry]

    public init(hardState: HardState? = nil, snapshot: RaftSnapshot? = nil, entries: [RaftEntry] = [],
                messages: [RaftMessage] = [], committedEntries: [RaftEntry] = []) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.messages = messages
        self.committedEntries = committedEntries
    }

    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && entries.isEmpty && messages.isEmpty
            && committedEntries.isEmpty
    }
}
