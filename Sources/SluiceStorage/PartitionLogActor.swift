import NIOCore
import SluiceCore

/// The async face of a `PartitionLog`: every call runs on the log's dedicated I/O thread, never
/// on Swift's cooperative pool, and `flush = always` appends return only once durable, sharing
/// fsyncs through a `GroupCommitter` on a second thread.
public actor PartitionLogActor {
    private let log: PartitionLog
    private let executor: IOThreadExecutor
    /// Created once; used only while the flush policy is `.always`.
    private let committer: GroupCommitter
    private let now: @Sendable () -> Int64
    /// The appends waiting in `makeDurable`, by id: the last offset each wrote. Bounded by
    /// the number of callers awaiting an append.
    private var durabilityWaiters: [Int: Offset] = [:]
    /// Waiters whose offsets a truncation removed while they waited.
    private var truncatedWaiters: Set<Int> = []
    private var nextWaiterID = 0

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the log on `executor`'s thread. `syncExecutor` runs group-commit fsyncs and is
    /// only used when the config's flush policy is `.always`.
    public init(fileSystem: any FileSystem, directory: String, config: LogConfig, executor: IOThreadExecutor,
                syncExecutor: IOThreadExecutor, now: @escaping @Sendable () -> Int64) throws(LogError) {
        // Opening scans files; callers construct the actor from an I/O context (or accept one
        // blocking open at startup, as the broker does before it serves).
        let log = try PartitionLog(fileSystem: fileSystem, directory: directory, config: config, nowMs: now())
        self.log = log
        self.executor = executor
        self.now = now
        committer = GroupCommitter(source: log.syncSource, durableOffset: log.flushedOffset, executor: syncExecutor)
    }

    public var logEndOffset: Offset { log.logEndOffset }
    public var logStartOffset: Offset { log.logStartOffset }
    public var highWatermark: Offset { log.highWatermark }
    public var epochCache: LeaderEpochCache { log.epochCache }
    public var fsyncCount: Int { get async { await committer.syncCount } }
    public var config: LogConfig { log.config }
    public var openReport: PartitionLog.OpenReport { log.openReport }
    public var sizeInBytes: Int64 { log.sizeInBytes }

    public func appendAsLeader(_ records: ByteBuffer, leaderEpoch: LeaderEpoch) async throws(LogError) -> PartitionLog.AppendResult {
        let result = try log.appendAsLeader(records, leaderEpoch: leaderEpoch, nowMs: now())
        try await makeDurable(result.lastOffset)
        return result
    }

    public func appendAsFollower(_ records: ByteBuffer) async throws(LogError) -> PartitionLog.AppendResult? {
        guard let result = try log.appendAsFollower(records, nowMs: now()) else { return nil }
        try await makeDurable(result.lastOffset)
        return result
    }

    /// Waits for the group commit that covers `offset` (`flush = always` only). The actor is
    /// reentrant across that wait: a truncation (a leader became follower) may cut `offset`
    /// away meanwhile, and later appends may even reuse it, so an fsync that "covers" the
    /// offset proves nothing about the records this append wrote. Such a waiter fails instead
    /// of acknowledging records that are gone: `.storage(.invalidArgument)`, which the broker
    /// answers with KAFKA_STORAGE_ERROR, a retriable error that makes Kafka clients refresh
    /// their metadata and resend to the new leader.
    private func makeDurable(_ offset: Offset) async throws(LogError) {
        guard log.config.flush == .always else { return }
        let waiter = nextWaiterID
        nextWaiterID += 1
        durabilityWaiters[waiter] = offset
        defer {
            durabilityWaiters.removeValue(forKey: waiter)
            truncatedWaiters.remove(waiter)
        }
        let durable: Offset
        do throws(StorageError) {
            durable = try await committer.waitDurable(beyond: offset)
        } catch {
            throw .storage(error)
        }
        if truncatedWaiters.contains(waiter) || durable <= offset {
            throw .storage(.invalidArgument("offset \(offset) of \(log.directory) was truncated away before it was durable"))
        }
        log.markFlushed(upTo: durable)
    }

    /// Marks the appends waiting for durability whose offsets a truncation to `end` removed.
    private func truncated(to end: Offset) async {
        for (waiter, offset) in durabilityWaiters where offset >= end { truncatedWaiters.insert(waiter) }
        await committer.logTruncated(to: end)
    }

    public func read(from offset: Offset, maxBytes: Int, maxOffset: Offset? = nil, minOneBatch: Bool = true) throws(LogError) -> ByteBuffer {
        try log.read(from: offset, maxBytes: maxBytes, maxOffset: maxOffset, minOneBatch: minOneBatch)
    }

    public func offset(forTimestamp timestamp: Int64) throws(LogError) -> (offset: Offset, timestamp: Int64)? {
        try log.offset(forTimestamp: timestamp)
    }

    /// Folds the headers of the batches in the last `segmentsMax` segments into `initial`, on
    /// the I/O thread (see `PartitionLog.forEachTailBatchHeader`); the fold keeps memory
    /// bounded by what `State` keeps, however many batches the segments hold.
    public func foldTailBatchHeaders<State: Sendable>(
        segmentsMax: Int = PartitionLog.tailHeaderSegmentsDefault, into initial: State,
        _ body: @Sendable (inout State, BatchHeader) -> Void
    ) throws(LogError) -> State {
        var state = initial
        try log.forEachTailBatchHeader(segmentsMax: segmentsMax) { body(&state, $0) }
        return state
    }

    /// See `PartitionLog.truncate(to:nowMs:)`. Async because the group committer must forget
    /// the durability of the offsets cut away, or the appends that rewrite them would skip
    /// their fsync.
    @discardableResult
    public func truncate(to offset: Offset) async throws(LogError) -> Offset {
        let end = try log.truncate(to: offset, nowMs: now())
        await truncated(to: end)
        return end
    }

    /// See `PartitionLog.truncate(toDamage:nowMs:)`: a follower cuts its log back to a damaged
    /// batch, to fetch it and what follows again from its leader.
    @discardableResult
    public func truncate(toDamage damage: LogCorruption) async throws(LogError) -> Offset {
        let end = try log.truncate(toDamage: damage, nowMs: now())
        await truncated(to: end)
        return end
    }

    /// See `PartitionLog.truncateFullyAndStart(at:nowMs:)`: a follower whose fetch offset fell
    /// below the leader's log start restarts its log empty at `offset`.
    public func truncateFullyAndStart(at offset: Offset) async throws(LogError) {
        try log.truncateFullyAndStart(at: offset, nowMs: now())
        await truncated(to: .zero)  // every offset written before is gone, whatever `offset` is
    }

    /// See `PartitionLog.beginLeaderEpoch(_:)`: called once this replica becomes leader for
    /// `epoch`, before it takes appends.
    public func beginLeaderEpoch(_ epoch: LeaderEpoch) throws(LogError) {
        try log.beginLeaderEpoch(epoch)
    }

    /// DeleteRecords, or a follower following its leader's log start.
    public func advanceLogStart(to offset: Offset) throws(LogError) {
        try log.advanceLogStart(to: offset)
    }

    public func updateHighWatermark(_ offset: Offset) throws(LogError) {
        try log.updateHighWatermark(offset)
    }

    public func applyRetention() throws(LogError) -> Int {
        try log.applyRetention(nowMs: now())
    }

    public func flushIfDue() throws(StorageError) {
        try log.flushIfDue(nowMs: now())
    }

    public func update(config: LogConfig) {
        log.update(config: config)
    }

    /// One maintenance pass: retention, a due interval flush, and the checkpoints.
    public func maintain() throws(LogError) -> Int {
        let deleted = try log.applyRetention(nowMs: now())
        do throws(StorageError) {
            try log.flushIfDue(nowMs: now())
            try log.checkpoint()
        } catch {
            throw .storage(error)
        }
        return deleted
    }

    public func delete() throws(StorageError) {
        try log.delete()
    }

    public func close() throws(StorageError) {
        try log.close(nowMs: now())
    }
}
