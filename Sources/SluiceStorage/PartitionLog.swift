import NIOCore
import SluiceCore
import SluiceRecords

/// One partition replica's log on disk: an ordered list of segments, the last of which takes
/// appends, plus the leader-epoch cache and the `partition.state` checkpoint.
///
/// ```
/// <directory>/
///   00000000000000000000.log / .index / .timeindex    one segment per base offset
///   leader-epoch-checkpoint                            LeaderEpochCache
///   partition.state                                    log start offset, high watermark
///   clean-shutdown                                     present only between close() and open()
/// ```
///
/// Not thread-safe: one owner (`PartitionLogActor`) calls every method. The single exception is
/// `syncSource`, which a `GroupCommitter` reads from another thread under its lock.
public final class PartitionLog {
    public let directory: String
    public private(set) var config: LogConfig
    let fileSystem: any FileSystem
    /// Invariant: non-empty, sorted by base offset, each segment's offsets below the next's base.
    private var segments: [LogSegment]
    /// The first offset a reader may ask for.
    public private(set) var logStartOffset: Offset
    /// The high watermark last set by the replication layer (checkpointed, clamped to the log).
    public private(set) var highWatermark: Offset
    public private(set) var epochCache: LeaderEpochCache
    /// Offsets below this are known fsynced (the recovery point).
    public private(set) var flushedOffset: Offset
    private var messagesSinceFlush = 0
    private var lastFlushMs: Int64
    private var closed = false
    /// What a concurrent group committer needs: the active log file and the log end offset,
    /// published after every write.
    public let syncSource: LogSyncSource

    static let cleanShutdownFile = "clean-shutdown"
    static let stateFile = "partition.state"
    static let epochFile = "leader-epoch-checkpoint"

    /// One past the last offset in the log: where the next append goes.
    public var logEndOffset: Offset { segments.last!.nextOffset }
    /// Bytes in all segments.
    public var sizeInBytes: Int64 { segments.reduce(0) { $0 + $1.size } }
    public var segmentCount: Int { segments.count }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Offset] { segments.map(\.baseOffset) }

    /// What `open` did, for the node's startup log.
    public struct OpenReport: Sendable {
        public var wasCleanShutdown: Bool
        public var truncatedBytes: Int64
        public var reasons: [String]
        public var rebuiltIndexSegments: Int
    }
    public private(set) var openReport: OpenReport

    /// Opens (creating if needed) the log in `directory`. After an unclean stop it scans the
    /// last segment and any segment whose indexes fail their checks, truncating at the first
    /// batch that fails validation.
    public init(fileSystem: any FileSystem, directory: String, config: LogConfig, nowMs: Int64) throws(LogError) {
        precondition(config.problems().isEmpty, "invalid LogConfig: \(config.problems())")
        self.fileSystem = fileSystem
        self.directory = directory
        self.config = config
        self.lastFlushMs = nowMs
        do throws(StorageError) {
            try fileSystem.createDirectory(directory)
            let names = try fileSystem.listDirectory(directory)
            let clean = names.contains(Self.cleanShutdownFile)
            let bases = names.compactMap(LogSegment.baseOffset(ofLogFile:)).sorted()
            var report = OpenReport(wasCleanShutdown: clean, truncatedBytes: 0, reasons: [], rebuiltIndexSegments: 0)
            var opened: [LogSegment] = []
            for (i, base) in bases.enumerated() {
                let recover = !clean && i == bases.count - 1
                let successor = i + 1 < bases.count ? bases[i + 1] : nil
                let (segment, r) = try LogSegment.open(fileSystem: fileSystem, directory: directory, baseOffset: base,
                                                       indexIntervalBytes: config.indexIntervalBytes, recover: recover,
                                                       nextSegmentBaseOffset: successor, nowMs: nowMs)
                report.truncatedBytes += r.truncatedBytes
                if let reason = r.reason { report.reasons.append("\(segment.logPath): \(reason)") }
                if r.rebuiltIndexes { report.rebuiltIndexSegments += 1 }
                opened.append(segment)
            }
            // A segment emptied by recovery after a non-empty one is dropped; an empty segment
            // is only kept as the only one.
            while opened.count > 1, opened.last!.isEmpty {
                try opened.removeLast().delete(fileSystem: fileSystem)
            }

            let stateFile = CheckpointFile(fileSystem: fileSystem, path: joinPath(directory, Self.stateFile), version: 0)
            var checkpointedStart = Offset.zero
            var hw = Offset.zero
            if let entries = try stateFile.read(fieldsPerEntry: 2) {
                for entry in entries {
                    guard let value = Int64(entry[1]) else { continue }
                    if entry[0] == "logStartOffset" { checkpointedStart = Offset(value) }
                    if entry[0] == "highWatermark" { hw = Offset(value) }
                }
            }
            // Every record lies below the checkpointed log start: the log was emptied and
            // restarted there (`truncateFullyAndStart`, which checkpoints first), or a crash
            // lost an unsynced tail the start had already passed. Either way nothing here may be
            // served, and the log restarts empty at the checkpointed start, as Kafka's loader does.
            var restartedEmpty = false
            if let last = opened.last, last.nextOffset < checkpointedStart {
                for segment in opened { try segment.delete(fileSystem: fileSystem) }
                opened = []
                restartedEmpty = true
            }
            if opened.isEmpty {
                opened = [try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: checkpointedStart,
                                                indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)]
            }
            segments = opened
            let logEnd = opened.last!.nextOffset
            logStartOffset = min(max(opened.first!.baseOffset, checkpointedStart), logEnd)
            highWatermark = min(max(hw, logStartOffset), logEnd)

            let epochFile = CheckpointFile(fileSystem: fileSystem, path: joinPath(directory, Self.epochFile),
                                           version: LeaderEpochCache.checkpointVersion)
            var cache = try LeaderEpochCache(checkpoint: epochFile.read(fieldsPerEntry: 2) ?? [], path: epochFile.path)
            // An epoch starting exactly at the log end stays: a leader begins its epoch there
            // before its first append (`beginLeaderEpoch`). Only epochs past the end go.
            cache.truncate(from: logEnd.advanced(by: 1))
            // After a restart at the checkpointed start every remembered epoch described records
            // that are gone (the epoch checkpoint may predate the restart).
            if restartedEmpty { cache = LeaderEpochCache() }
            epochCache = cache
            flushedOffset = clean ? logEnd : opened.last!.baseOffset
            openReport = report
            syncSource = LogSyncSource(file: opened.last!.logFile, logEndOffset: logEnd)
            if clean { try fileSystem.remove(joinPath(directory, Self.cleanShutdownFile)) }
            try fileSystem.syncDirectory(directory)
        } catch {
            throw .storage(error)
        }
    }

    private func checkOpen() throws(LogError) {
        if closed { throw .closed(path: directory) }
    }

    // MARK: appending

    /// What an append stored.
    public struct AppendResult: Equatable, Sendable {
        public var firstOffset: Offset
        public var lastOffset: Offset
        public var batchCount: Int
        public var recordCount: Int
        public var bytes: Int

        public init(firstOffset: Offset, lastOffset: Offset, batchCount: Int, recordCount: Int, bytes: Int) {
            self.firstOffset = firstOffset
            self.lastOffset = lastOffset
            self.batchCount = batchCount
            self.recordCount = recordCount
            self.bytes = bytes
        }
    }

    /// Appends the batches of a Produce request's `records` as the leader: validates every batch
    /// first (nothing is written if one fails), then assigns offsets from the log end and
    /// stamps `leaderEpoch` on each.
    public func appendAsLeader(_ records: ByteBuffer, leaderEpoch: LeaderEpoch, nowMs: Int64) throws(LogError) -> AppendResult {
        try checkOpen()
        var batches: [RecordBatch] = []
        var splitter = RecordBatchSplitter(records, trailingBytes: .rejectPartialTrailingBatch)
        do throws(RecordBatchError) {
            while let batch = try splitter.next() { batches.append(batch) }
        } catch {
            throw .invalidBatch(error)
        }
        guard !batches.isEmpty else { throw .invalidBatch(.batchTooSmall(bytes: 0)) }
        var next = logEndOffset
        var placed: [PlacedBatch] = []
        placed.reserveCapacity(batches.count)
        for batch in batches {
            placed.append(PlacedBatch(batch, baseOffset: next, leaderEpoch: leaderEpoch))
            next = placed.last!.nextOffset
        }
        return try append(placed, nowMs: nowMs)
    }

    /// Appends batches replicated from the leader, offsets and epochs as the leader assigned
    /// them. They must continue the log exactly.
    public func appendAsFollower(_ records: ByteBuffer, nowMs: Int64) throws(LogError) -> AppendResult? {
        try checkOpen()
        var batches: [RecordBatch] = []
        var splitter = RecordBatchSplitter(records, trailingBytes: .allowPartialTrailingBatch)
        do throws(RecordBatchError) {
            while let batch = try splitter.next() { batches.append(batch) }
        } catch {
            throw .invalidBatch(error)
        }
        guard !batches.isEmpty else { return nil }
        var expected = logEndOffset
        for batch in batches {
            guard batch.baseOffset == expected else { throw .nonContiguousAppend(expected: expected, got: batch.baseOffset) }
            expected = batch.nextOffset
        }
        return try append(batches.map(PlacedBatch.init(asStored:)), nowMs: nowMs)
    }

    /// Writes `batches`, all or none: if any write, roll or flush fails (ENOSPC, EIO), every
    /// byte this call wrote is cut away again (`rollBackAppend`), so the log end never counts a
    /// batch that is not whole on disk and the next append starts at a clean boundary.
    private func append(_ batches: [PlacedBatch], nowMs: Int64) throws(LogError) -> AppendResult {
        let first = batches.first!.baseOffset
        var records = 0
        var bytes = 0
        let mark = (segmentCount: segments.count, active: segments.last!.mark())
        do throws(StorageError) {
            for batch in batches {
                try rollIfNeeded(incomingBytes: batch.totalBytes, lastOffset: batch.lastOffset, nowMs: nowMs)
                let epoch = batch.leaderEpoch
                if epoch != .unknown && epoch > (epochCache.latestEpoch ?? .unknown) {
                    epochCache.assign(epoch: epoch, startOffset: batch.baseOffset)
                    try writeEpochCheckpoint()
                }
                try segments.last!.append(batch)
                records += Int(batch.recordsCount)
                bytes += batch.totalBytes
            }
            let end = logEndOffset
            let active = segments.last!.logFile
            syncSource.publish(file: active, logEndOffset: end)
            messagesSinceFlush += records
            if case .interval(let messages, let ms) = config.flush,
                messagesSinceFlush >= messages || nowMs - lastFlushMs >= ms
            {
                try flush(nowMs: nowMs)
            }
        } catch {
            rollBackAppend(segmentCount: mark.segmentCount, active: mark.active)
            throw .storage(error)
        }
        return AppendResult(firstOffset: first, lastOffset: logEndOffset.advanced(by: -1), batchCount: batches.count,
                            recordCount: records, bytes: bytes)
    }

    /// Undoes a failed append: removes segments it rolled to, cuts the segment that was active
    /// back to its mark, and forgets epochs that began past the new log end. If even that fails
    /// the log is closed (`.closed` from then on, KAFKA_STORAGE_ERROR to clients): reopening it
    /// runs recovery, where carrying on could append after a torn batch.
    private func rollBackAppend(segmentCount: Int, active: LogSegment.AppendMark) {
        do throws(StorageError) {
            while segments.count > segmentCount { try segments.removeLast().delete(fileSystem: fileSystem) }
            try segments.last!.rollBack(to: active)
        } catch {
            closeUncleanly()
            return
        }
        let end = logEndOffset
        // An epoch that begins exactly at the log end stays, as after `beginLeaderEpoch`.
        epochCache.truncate(from: end.advanced(by: 1))
        flushedOffset = min(flushedOffset, end)
        syncSource.publish(file: segments.last!.logFile, logEndOffset: end)
    }

    private func rollIfNeeded(incomingBytes: Int, lastOffset: Offset, nowMs: Int64) throws(StorageError) {
        let active = segments.last!
        guard !active.isEmpty else { return }
        let full = active.size + Int64(incomingBytes) > Int64(config.segmentBytes)
        let old = nowMs - active.createdAtMs >= config.segmentMilliseconds
        let offsetsExhausted = lastOffset.rawValue - active.baseOffset.rawValue > Int64(UInt32.max)
        if full || old || offsetsExhausted { try roll(nowMs: nowMs) }
    }

    /// Closes the active segment for appends (fsyncing it, so older segments never need
    /// recovery) and starts a new one at the log end.
    public func roll(nowMs: Int64) throws(StorageError) {
        let active = segments.last!
        guard !active.isEmpty else { return }
        try active.sealTimeIndex()
        try active.sync()
        let segment = try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: active.nextOffset,
                                            indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)
        try fileSystem.syncDirectory(directory)
        segments.append(segment)
        flushedOffset = active.nextOffset
        let end = logEndOffset
        syncSource.publish(file: segment.logFile, logEndOffset: end)
    }

    // MARK: reading

    /// Whole batches from the one containing `offset`: at most `maxBytes` (at least one batch
    /// when `minOneBatch`, KIP-74), none starting at or after `maxOffset` (the high watermark
    /// for consumers, the log end for followers). Reads one segment; callers come back for more.
    public func read(from offset: Offset, maxBytes: Int, maxOffset: Offset? = nil, minOneBatch: Bool = true) throws(LogError) -> ByteBuffer {
        try checkOpen()
        let end = logEndOffset
        guard offset >= logStartOffset, offset <= end else {
            throw .offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: end)
        }
        let limit = min(maxOffset ?? end, end)
        var i = segmentIndex(containing: offset)
        while i < segments.count {
            let segment = segments[i]
            if let location = try segment.location(of: offset) {
                return try segment.read(at: location, maxBytes: maxBytes, maxOffset: limit, minOneBatch: minOneBatch)
            }
            i += 1
        }
        return ByteBufferAllocator().buffer(capacity: 0)
    }

    /// The first record from the log start with a timestamp ≥ `timestamp` (ListOffsets by
    /// time): its offset and timestamp, as Kafka answers; nil if every record is older.
    public func offset(forTimestamp timestamp: Int64) throws(LogError) -> (offset: Offset, timestamp: Int64)? {
        try checkOpen()
        for segment in segments where segment.maxTimestamp >= timestamp {
            if let found = try segment.firstRecord(withTimestampAtLeast: timestamp, from: logStartOffset) {
                return found
            }
        }
        return nil
    }

    /// How many segments `forEachTailBatchHeader` reads by default: the active one and the one
    /// before it, so a roll just before a crash still leaves the last batches in view.
    public static let tailHeaderSegmentsDefault = 2

    /// Calls `visit` with the header of every batch in the last `segmentsMax` segments, oldest
    /// first, reading headers only (61 bytes per batch). A broker rebuilds its idempotent-producer
    /// state from these after a restart: a retrying producer resends only its last few batches,
    /// which sit at the tail. Bounded by `segmentsMax` segments of at most `segment.bytes` each:
    /// one positional read per batch, so a full 1 GiB segment of 16 KiB batches is 65,536 reads.
    public func forEachTailBatchHeader(segmentsMax: Int = tailHeaderSegmentsDefault,
                                       _ visit: (BatchHeader) -> Void) throws(LogError) {
        try checkOpen()
        for segment in segments.suffix(max(0, segmentsMax)) {
            try segment.forEachHeader(visit)
        }
    }

    /// The last segment whose base offset is ≤ `offset` (the first segment if none is).
    private func segmentIndex(containing offset: Offset) -> Int {
        var low = 0
        var high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].baseOffset <= offset { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    // MARK: truncation and retention

    /// Removes every batch whose last offset is ≥ `offset`, as a follower does after asking the
    /// new leader where its epoch ends. A batch that straddles `offset` goes whole. Returns the
    /// new log end offset.
    ///
    /// Truncating below the log start leaves nothing a reader may ask for, so the log restarts
    /// empty at `offset` (`truncateFullyAndStart`, Kafka's `truncateTo` → `truncateFullyAndStartAt`):
    /// log start never passes log end.
    @discardableResult
    public func truncate(to offset: Offset, nowMs: Int64) throws(LogError) -> Offset {
        try checkOpen()
        guard offset < logEndOffset else { return logEndOffset }
        if offset < logStartOffset {
            try truncateFullyAndStart(at: offset, nowMs: nowMs)
            return offset
        }
        // Invariant (open, advanceLogStart): the first segment's base ≤ log start ≤ `offset`, so
        // the first segment always stays.
        do throws(StorageError) {
            while segments.count > 1, segments.last!.baseOffset >= offset {
                try segments.removeLast().delete(fileSystem: fileSystem)
            }
            try fileSystem.syncDirectory(directory)
        } catch {
            throw .storage(error)
        }
        let end = try segments.last!.truncate(to: offset)
        return try finishTruncation(at: end, nowMs: nowMs)
    }

    /// Cuts the log back to the start of a damaged batch a read reported, as a follower does
    /// to heal: everything from it on is fetched again from the leader. The damaged header may
    /// be wrong, so the cut is made at the batch's byte position in its segment, not by looking
    /// its offset up. Returns the new log end offset (unchanged if the damage is already gone).
    @discardableResult
    public func truncate(toDamage damage: LogCorruption, nowMs: Int64) throws(LogError) -> Offset {
        try checkOpen()
        guard damage.offset < logEndOffset, segments.contains(where: { $0.baseOffset == damage.segmentBaseOffset }) else {
            return logEndOffset
        }
        if damage.offset <= logStartOffset {
            try truncateFullyAndStart(at: damage.offset, nowMs: nowMs)
            return damage.offset
        }
        do throws(StorageError) {
            while segments.last!.baseOffset > damage.segmentBaseOffset {
                try segments.removeLast().delete(fileSystem: fileSystem)
            }
            try fileSystem.syncDirectory(directory)
        } catch {
            throw .storage(error)
        }
        let end = try segments.last!.truncate(atPosition: damage.position)
        return try finishTruncation(at: end, nowMs: nowMs)
    }

    /// The bookkeeping after the last segment was cut to end at `end`.
    private func finishTruncation(at end: Offset, nowMs: Int64) throws(LogError) -> Offset {
        if end < logStartOffset {
            // The batch holding the log start straddled the cut and went whole: what is left
            // lies below the log start, so empty the log at the batch boundary, where a
            // follower's next fetch continues cleanly.
            try truncateFullyAndStart(at: end, nowMs: nowMs)
            return end
        }
        epochCache.truncate(from: end)
        highWatermark = min(highWatermark, end)
        flushedOffset = min(flushedOffset, end)
        let active = segments.last!.logFile
        syncSource.publish(file: active, logEndOffset: end)
        do throws(StorageError) {
            try writeEpochCheckpoint()
            try writeStateCheckpoint()
        } catch {
            throw .storage(error)
        }
        return end
    }

    /// Deletes every segment and restarts the log empty at `offset`: log start = log end =
    /// high watermark = `offset`, and no leader epochs. A follower does this when the leader
    /// answers OFFSET_OUT_OF_RANGE because its fetch offset is below the leader's log start
    /// (Kafka's `truncateFullyAndStartAt`); `offset` may lie above or below the old log.
    ///
    /// Crash order: the checkpoints are replaced first (atomically, fsynced), then the
    /// segments are deleted oldest first, then the new segment is created. A crash before the
    /// checkpoints leaves the old log; after them, `init` finds every surviving record below the
    /// checkpointed start (when `offset` is past the old log end) and restarts empty there, or
    /// (when `offset` is below the old start) keeps a consistent suffix of the old log, which the
    /// follower truncates again after its next epoch handshake. If a file operation fails
    /// half-way the log is closed (`.closed` from then on): reopening it recovers one of those
    /// states, where carrying on with half-deleted segments could not.
    public func truncateFullyAndStart(at offset: Offset, nowMs: Int64) throws(LogError) {
        try checkOpen()
        precondition(offset >= .zero, "a log cannot start at a negative offset: \(offset)")
        logStartOffset = offset
        highWatermark = offset
        flushedOffset = offset
        epochCache = LeaderEpochCache()
        messagesSinceFlush = 0
        do throws(StorageError) {
            try writeStateCheckpoint()
            try writeEpochCheckpoint()
            for segment in segments { try segment.delete(fileSystem: fileSystem) }
            let fresh = try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: offset,
                                              indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)
            segments = [fresh]
            try fileSystem.syncDirectory(directory)
            syncSource.publish(file: fresh.logFile, logEndOffset: offset)
        } catch {
            closeUncleanly()
            throw .storage(error)
        }
    }

    /// Records that `epoch` starts at the log end offset, as a new leader does the moment it
    /// takes over (KIP-101): a follower's `OffsetForLeaderEpoch` for `epoch` then gets an answer
    /// even before the leader's first append. Checkpointed at once. A no-op when the latest
    /// epoch is already `epoch` or later (a repeated or stale leadership change), and for
    /// `.unknown` (-1), which no leader has.
    public func beginLeaderEpoch(_ epoch: LeaderEpoch) throws(LogError) {
        try checkOpen()
        guard epoch != .unknown else { return }
        if let latest = epochCache.latestEpoch, latest >= epoch { return }
        epochCache.assign(epoch: epoch, startOffset: logEndOffset)
        do throws(StorageError) {
            try writeEpochCheckpoint()
        } catch {
            throw .storage(error)
        }
    }

    /// Moves the log start forward (DeleteRecords, or retention): readers can no longer ask
    /// for offsets below it. Segments wholly below it are deleted.
    public func advanceLogStart(to offset: Offset) throws(LogError) {
        try checkOpen()
        guard offset > logStartOffset else { return }
        guard offset <= highWatermark else {
            throw .offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: highWatermark)
        }
        logStartOffset = offset
        epochCache.advanceStart(to: offset)
        do throws(StorageError) {
            while segments.count > 1, segments[1].baseOffset <= offset {
                try segments.removeFirst().delete(fileSystem: fileSystem)
            }
            try writeEpochCheckpoint()
            try writeStateCheckpoint()
        } catch {
            throw .storage(error)
        }
    }

    /// Deletes the oldest closed segments that break the size or time limit. Only segments
    /// entirely below the high watermark go (consumers may not have read the rest). Returns how
    /// many segments were deleted.
    @discardableResult
    public func applyRetention(nowMs: Int64) throws(LogError) -> Int {
        try checkOpen()
        var deleted = 0
        var size = sizeInBytes
        while segments.count > 1 {
            let oldest = segments[0]
            let nextBase = segments[1].baseOffset
            guard nextBase <= highWatermark else { break }
            let tooBig = config.retentionBytes.map { size - oldest.size >= $0 } ?? false
            let tooOld = config.retentionMilliseconds.map { oldest.maxTimestamp >= 0 && nowMs - oldest.maxTimestamp > $0 } ?? false
            guard tooBig || tooOld else { break }
            size -= oldest.size
            try advanceLogStart(to: nextBase)
            deleted += 1
        }
        return deleted
    }

    /// Applies a new configuration (a per-topic override changed). Size and age limits apply
    /// from the next append or retention pass; the flush policy from the next append.
    public func update(config newConfig: LogConfig) {
        precondition(newConfig.problems().isEmpty, "invalid LogConfig: \(newConfig.problems())")
        config = newConfig
    }

    // MARK: durability

    /// Sets the high watermark (the replication layer owns it) and checkpoints it.
    public func updateHighWatermark(_ offset: Offset) throws(LogError) {
        let clamped = min(max(offset, logStartOffset), logEndOffset)
        guard clamped != highWatermark else { return }
        highWatermark = clamped
    }

    /// fsyncs the active segment and records the recovery point.
    public func flush(nowMs: Int64) throws(StorageError) {
        try segments.last!.sync()
        flushedOffset = logEndOffset
        messagesSinceFlush = 0
        lastFlushMs = nowMs
    }

    /// For `.interval` flushing driven by a timer.
    public func flushIfDue(nowMs: Int64) throws(StorageError) {
        guard case .interval(_, let ms) = config.flush, messagesSinceFlush > 0, nowMs - lastFlushMs >= ms else { return }
        try flush(nowMs: nowMs)
    }

    /// Records that a syncer made everything below `offset` durable.
    public func markFlushed(upTo offset: Offset) {
        if offset > flushedOffset { flushedOffset = min(offset, logEndOffset) }
    }

    /// Writes the checkpoints (high watermark, log start, epochs).
    public func checkpoint() throws(StorageError) {
        try writeStateCheckpoint()
        try writeEpochCheckpoint()
    }

    private func writeStateCheckpoint() throws(StorageError) {
        try CheckpointFile(fileSystem: fileSystem, path: joinPath(directory, Self.stateFile), version: 0)
            .write([["logStartOffset", "\(logStartOffset)"], ["highWatermark", "\(highWatermark)"]])
    }

    private func writeEpochCheckpoint() throws(StorageError) {
        try CheckpointFile(fileSystem: fileSystem, path: joinPath(directory, Self.epochFile),
                           version: LeaderEpochCache.checkpointVersion).write(epochCache.checkpointEntries())
    }

    /// Clean shutdown: flush, checkpoint, close, and leave the marker that lets the next open
    /// skip recovery.
    public func close(nowMs: Int64) throws(StorageError) {
        guard !closed else { return }
        try segments.last!.sealTimeIndex()
        try flush(nowMs: nowMs)
        try checkpoint()
        for segment in segments { segment.close() }
        closed = true
        let marker = try fileSystem.open(joinPath(directory, Self.cleanShutdownFile), create: true)
        try marker.sync()
        marker.close()
        try fileSystem.syncDirectory(directory)
    }

    /// Closes without the marker (for tests and crash handling).
    public func closeUncleanly() {
        for segment in segments { segment.close() }
        closed = true
    }

    /// Closes and removes every file (topic deletion).
    public func delete() throws(StorageError) {
        closeUncleanly()
        try fileSystem.remove(directory)
    }
}
