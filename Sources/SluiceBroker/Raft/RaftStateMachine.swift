import SluiceCore
import SluiceRaft

/// What the Raft log drives (the metadata image, DESIGN §2.1). The driver calls it from one
/// task at a time, in log order; it never sees `.leaderChange` entries.
public protocol RaftStateMachine: Sendable {
    /// Apply committed entries, in order. Every entry reaches every node's state machine at
    /// the same index.
    func apply(_ entries: [RaftEntry]) async
    /// The state as of the last entry applied, and that entry's index, for log compaction.
    /// The index must not exceed the last index handed to `apply` (or restored).
    func snapshot() async -> (index: RaftIndex, data: [UInt8])
    /// Replace the whole state with a snapshot's (a leader sent one, or the node restarts
    /// from a compacted log).
    func restore(_ snapshot: RaftSnapshot) async
}

/// Where the driver hands outgoing messages: `RaftTransport` over TCP, or a test double.
/// Must never block.
public protocol RaftMessageSink: Sendable {
    func send(_ messages: [RaftMessage])
}

extension RaftTransport: RaftMessageSink {}
