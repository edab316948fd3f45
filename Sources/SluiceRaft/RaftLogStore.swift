import SluiceCore

/// Where a driver persists what `Ready` asks for. Two phases, as a write-ahead log works:
/// `write` may buffer, `sync` makes everything written durable. Only after `sync` returns may
/// the driver send the Ready's messages (a vote or an acknowledgement promises durability).
/// A crash loses at most what was written and not synced, possibly a prefix of it.
public protocol RaftLogStore {
    /// Everything durable at open, for `RaftNode.init(restoring:)`.
    var recoveredState: RaftPersistentState { get }
    /// Record a Ready's snapshot (replacing the whole log), then entries (each replacing any
    /// entry at its index and after), then hard state.
    mutating func write(_ ready: Ready) throws(RaftStoreError)
    mutating func sync() throws(RaftStoreError)
    /// Durably replace the log up to `snapshot.index` by a locally taken snapshot.
    mutating func compact(to snapshot: RaftSnapshot) throws(RaftStoreError)
}
