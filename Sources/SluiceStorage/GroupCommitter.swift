import SluiceCore
import Synchronization

/// What a group committer syncs: the log's active file and its end offset, published by the
/// log after every write under a lock, so the committer's thread can read them.
public final class LogSyncSource: Sendable {
    private let state: Mutex<(file: any StorageFile, logEndOffset: Offset)>

    init(file: any StorageFile, logEndOffset: Offset) {
        state = Mutex((file, logEndOffset))
    }

    func publish(file: any StorageFile, logEndOffset: Offset) {
        state.withLock { $0 = (file, logEndOffset) }
    }

    /// The active file and log end at this instant: once `file.sync()` returns, every offset
    /// below `logEndOffset` is durable (older segments were fsynced when they rolled).
    public func target() -> (file: any StorageFile, logEndOffset: Offset) {
        state.withLock { $0 }
    }
}

/// Group commit for `flush = always`: many appenders, one fsync.
///
/// An appender that needs its offset durable calls `waitDurable(beyond:)`. If a finished fsync
/// already covers it, it returns at once. Otherwise it runs one fsync itself, covering
/// everything appended until that instant, on this actor's own I/O thread. While that fsync
/// blocks the thread, later callers queue on the actor; when it returns, each of them finds its
/// offset covered or starts the next fsync for everyone then waiting. So the number of fsyncs
/// is bounded by the number of "waves" of appenders, not by the number of appends, and the log
/// actor keeps appending during every fsync.
public actor GroupCommitter {
    private let executor: IOThreadExecutor
    private let source: LogSyncSource
    /// Invariant: every offset below this is durable.
    public private(set) var durableOffset: Offset
    public private(set) var syncCount = 0

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(source: LogSyncSource, durableOffset: Offset, executor: IOThreadExecutor) {
        self.source = source
        self.durableOffset = durableOffset
        self.executor = executor
    }

    /// The log was truncated (or restarted) so that it now ends at `logEndOffset`: offsets from
    /// there on will be written anew, and an fsync that covered the old bytes does not cover
    /// the new ones. Runs after any fsync in flight (this actor is serial), so that fsync's
    /// result cannot raise the durable offset past the truncation again.
    public func logTruncated(to logEndOffset: Offset) {
        durableOffset = min(durableOffset, logEndOffset)
    }

    /// Returns once `offset` is durable; the result is the durable offset then. A result not
    /// above `offset` means the log was truncated below it before the fsync started (the log
    /// end published then was lower): the offset was not made durable, it is gone.
    @discardableResult
    public func waitDurable(beyond offset: Offset) throws(StorageError) -> Offset {
        if durableOffset > offset { return durableOffset }
        let (file, end) = source.target()
        try file.sync()
        syncCount += 1
        durableOffset = max(durableOffset, end)
        return durableOffset
    }
}
