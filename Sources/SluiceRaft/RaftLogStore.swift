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

/// An I/O failure of a `RaftLogStore`; a node that hits one must stop (it cannot promise
/// durability any more).
public struct RaftStoreError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32
    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }
    public var description: String { "\(operation) \(path) failed (errno \(errno))" }
}
