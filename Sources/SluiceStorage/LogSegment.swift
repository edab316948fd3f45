import NIOCore
import SluiceCore
import SluiceRecords

/// One segment of a partition log: `<baseOffset>.log` with its `.index` and `.timeindex`.
/// File names are the base offset as 20 decimal digits, so they sort by offset.
///
/// `.log` format: record batches (RecordBatch v2, see `RecordBatch`) back to back, exactly as
/// the wire carries them, with `baseOffset` and `partitionLeaderEpoch` assigned by the leader.
/// Nothing else is in the file: no header, no padding, no trailer.
///
/// Not thread-safe: owned by one `PartitionLog`.
final class LogSegment {
    let baseOffset: Offset
    let directory: String
    let logFile: any StorageFile
    private(set) var offsetIndex: OffsetIndex
    private(set) var timeIndex: TimeIndex
    /// Invariant: the `.log` file's size; every byte before it is a whole, valid batch.
    private(set) var size: Int64
    /// One past the last offset stored here; `baseOffset` while empty.
    private(set) var nextOffset: Offset
    /// The largest batch maxTimestamp stored here, -1 while empty.
    private(set) var maxTimestamp: Int64
    /// The base offset of the batch that holds `maxTimestamp`.
    private(set) var maxTimestampOffset: Offset
    /// When the segment was opened or created, in the caller's wall-clock ms (for `segment.ms`).
    let createdAtMs: Int64
    private var bytesSinceIndexEntry: Int
    private var bytesSinceTimeEntry: Int
    private let indexIntervalBytes: Int

    static func fileName(_ baseOffset: Offset, _ suffix: String) -> String {
        let digits = String(baseOffset.rawValue)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The base offset encoded in a `.log` file name, nil for other files.
    static func baseOffset(ofLogFile name: String) -> Offset? {
        guard name.hasSuffix(".log"), name.count == 24, let value = Int64(name.dropLast(4)) else { return nil }
        return Offset(value)
    }

    var logPath: String { joinPath(directory, Self.fileName(baseOffset, ".log")) }
    var isEmpty: Bool { size == 0 }

    /// Creates a new empty segment.
    static func create(fileSystem: any FileSystem, directory: String, baseOffset: Offset,
                       indexIntervalBytes: Int, nowMs: Int64) throws(StorageError) -> LogSegment {
        let log = try fileSystem.open(joinPath(directory, fileName(baseOffset, ".log")), create: true)
        try log.truncate(to: 0)
        let index = try OffsetIndex(emptying: fileSystem.open(joinPath(directory, fileName(baseOffset, ".index")), create: true),
                                    baseOffset: baseOffset)
        let time = try TimeIndex(emptying: fileSystem.open(joinPath(directory, fileName(baseOffset, ".timeindex")), create: true),
                                 baseOffset: baseOffset)
        return LogSegment(baseOffset: baseOffset, directory: directory, logFile: log, offsetIndex: index, timeIndex: time,
                          size: 0, nextOffset: baseOffset, maxTimestamp: -1, indexIntervalBytes: indexIntervalBytes, nowMs: nowMs)
    }

    /// What `open` found, for the recovery log line.
    struct RecoveryReport {
        var truncatedBytes: Int64 = 0
        var reason: String?
        var rebuiltIndexes = false
    }

    /// Opens an existing segment. With `recover`, scans every batch (length, magic, CRC, offset
    /// order), truncates the `.log` at the first bad or partial batch and rebuilds both indexes.
    /// Without it, trusts the `.log` up to its size (a clean shutdown) and only rebuilds indexes
    /// that fail their checks; the tail after the last index entry is still scanned to find the
    /// next offset.
    ///
    /// `nextSegmentBaseOffset` is set for a closed segment (one that has a successor). A closed
    /// segment is never cut: it was fsynced when it rolled, so a bad batch in it is damage
    /// (bit rot), not a torn write, and cutting it would leave a silent gap before the next
    /// segment. Its damaged batch stays, and reads of it fail with `LogError.corruptLog`.
    static func open(fileSystem: any FileSystem, directory: String, baseOffset: Offset, indexIntervalBytes: Int,
                     recover: Bool, nextSegmentBaseOffset: Offset?, nowMs: Int64) throws(StorageError) -> (LogSegment, RecoveryReport) {
        let log = try fileSystem.open(joinPath(directory, fileName(baseOffset, ".log")), create: false)
        let logSize = try log.size()
        let indexFile = try fileSystem.open(joinPath(directory, fileName(baseOffset, ".index")), create: true)
        let timeFile = try fileSystem.open(joinPath(directory, fileName(baseOffset, ".timeindex")), create: true)
        var report = RecoveryReport()
        var index: OffsetIndex
        var time: TimeIndex
        var mustRebuild = recover
        do {
            index = try OffsetIndex(file: indexFile, baseOffset: baseOffset, logSize: logSize)
            time = try TimeIndex(file: timeFile, baseOffset: baseOffset)
        } catch {
            mustRebuild = true
            index = try OffsetIndex(emptying: indexFile, baseOffset: baseOffset)
            time = try TimeIndex(emptying: timeFile, baseOffset: baseOffset)
        }
        if mustRebuild {
            index = try OffsetIndex(emptying: indexFile, baseOffset: baseOffset)
            time = try TimeIndex(emptying: timeFile, baseOffset: baseOffset)
            report.rebuiltIndexes = true
        }
        let segment = LogSegment(baseOffset: baseOffset, directory: directory, logFile: log, offsetIndex: index,
                                 timeIndex: time, size: 0, nextOffset: baseOffset, maxTimestamp: -1,
                                 indexIntervalBytes: indexIntervalBytes, nowMs: nowMs)
        try segment.scan(logSize: logSize, rebuildIndexes: mustRebuild, closedBefore: nextSegmentBaseOffset, report: &report)
        return (segment, report)
    }

    private init(baseOffset: Offset, directory: String, logFile: any StorageFile, offsetIndex: OffsetIndex,
                 timeIndex: TimeIndex, size: Int64, nextOffset: Offset, maxTimestamp: Int64,
                 indexIntervalBytes: Int, nowMs: Int64) {
        self.baseOffset = baseOffset
        self.directory = directory
        self.logFile = logFile
        self.offsetIndex = offsetIndex
        self.timeIndex = timeIndex
        self.size = size
        self.nextOffset = nextOffset
        self.maxTimestamp = maxTimestamp
        self.maxTimestampOffset = baseOffset
        self.createdAtMs = nowMs
        self.indexIntervalBytes = indexIntervalBytes
        self.bytesSinceIndexEntry = 0
        self.bytesSinceTimeEntry = 0
    }

    /// Walks the batches from the start (rebuilding) or from the last index entry (trusting),
    /// setting `size`, `nextOffset` and `maxTimestamp`. Truncates at the first bad batch, unless
    /// the segment is closed (`closedBefore`, the next segment's base offset): then the damage
    /// stays where it is and the segment ends where its successor begins.
    private func scan(logSize: Int64, rebuildIndexes: Bool, closedBefore: Offset?,
                      report: inout RecoveryReport) throws(StorageError) {
        var start = BatchLocation(position: 0, baseOffset: baseOffset)
        if !rebuildIndexes {
            // A sealed time index (see `sealTimeIndex`) ends with the segment's maximum.
            if let last = timeIndex.lastEntry {
                maxTimestamp = last.timestamp
                maxTimestampOffset = baseOffset.advanced(by: Int64(last.relativeOffset))
            }
            if let last = offsetIndex.lastEntry {
                start = BatchLocation(position: Int64(last.position), baseOffset: baseOffset.advanced(by: Int64(last.relativeOffset)))
            }
        }
        var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: start, end: logSize)
        while true {
            let batch: RecordBatch
            do throws(LogError) {
                guard let next = try reader.next() else { break }
                batch = next
            } catch {
                report.reason = error.description
                if let closedBefore {
                    report.reason! += "; kept (a closed segment is never cut, reading this batch fails)"
                    size = logSize
                    nextOffset = closedBefore
                    return
                }
                report.truncatedBytes = logSize - reader.position
                break
            }
            let batchPosition = reader.position
            reader.advance(past: batch)
            if rebuildIndexes {
                try indexBatch(baseOffset: batch.baseOffset, maxTimestamp: batch.maxTimestamp.rawValue,
                               totalBytes: batch.totalBytes, at: batchPosition)
            } else if batch.maxTimestamp.rawValue > maxTimestamp {
                maxTimestamp = batch.maxTimestamp.rawValue
                maxTimestampOffset = batch.baseOffset
            }
            nextOffset = batch.nextOffset
        }
        size = reader.position
        if !rebuildIndexes {
            bytesSinceIndexEntry = Int(size - Int64(offsetIndex.lastEntry?.position ?? 0))
            bytesSinceTimeEntry = indexIntervalBytes
        }
        if size < logSize {
            try logFile.truncate(to: size)
            // Index entries can only point at bytes that were kept.
            try offsetIndex.truncate(from: nextOffset)
            try timeIndex.truncate(from: nextOffset)
        }
    }

    /// Adds index entries for a batch about to sit at `position`, and counts its bytes.
    private func indexBatch(baseOffset batchBase: Offset, maxTimestamp batchMax: Int64, totalBytes: Int,
                            at position: Int64) throws(StorageError) {
        if bytesSinceIndexEntry >= indexIntervalBytes && position > 0 {
            try offsetIndex.append(offset: batchBase, position: position)
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += totalBytes
        if batchMax > maxTimestamp {
            maxTimestamp = batchMax
            maxTimestampOffset = batchBase
            if timeIndex.lastEntry == nil || bytesSinceTimeEntry >= indexIntervalBytes {
                try timeIndex.append(timestamp: batchMax, offset: batchBase)
                bytesSinceTimeEntry = 0
            }
        }
        bytesSinceTimeEntry += totalBytes
    }

    /// What an append changes in a segment, taken before it so a failed append can be undone.
    struct AppendMark {
        fileprivate var size: Int64
        fileprivate var nextOffset: Offset
        fileprivate var maxTimestamp: Int64
        fileprivate var maxTimestampOffset: Offset
        fileprivate var bytesSinceIndexEntry: Int
        fileprivate var bytesSinceTimeEntry: Int
    }

    func mark() -> AppendMark {
        AppendMark(size: size, nextOffset: nextOffset, maxTimestamp: maxTimestamp, maxTimestampOffset: maxTimestampOffset,
                   bytesSinceIndexEntry: bytesSinceIndexEntry, bytesSinceTimeEntry: bytesSinceTimeEntry)
    }

    /// Undoes every append since `mark`: cuts the `.log` and both indexes back, so no byte of a
    /// half-written batch (a write that failed with ENOSPC part-way) stays past `size`, and
    /// restores the counters. fsynced like a truncation: a crash must not bring back bytes a
    /// producer was told were not stored. Shrinking a file needs no free space.
    func rollBack(to mark: AppendMark) throws(StorageError) {
        try logFile.truncate(to: mark.size)
        try offsetIndex.truncate(from: mark.nextOffset)
        try timeIndex.truncate(from: mark.nextOffset)
        try sync()
        size = mark.size
        nextOffset = mark.nextOffset
        maxTimestamp = mark.maxTimestamp
        maxTimestampOffset = mark.maxTimestampOffset
        bytesSinceIndexEntry = mark.bytesSinceIndexEntry
        bytesSinceTimeEntry = mark.bytesSinceTimeEntry
    }

    /// Appends a batch at its placed offset and epoch, writing the 16-byte prefix that carries
    /// them and the batch's remaining bytes in one vectored write, without copying the batch.
    /// Precondition: it follows the segment's last batch. A failed write (a full disk) leaves
    /// `size` and `nextOffset` where they were; the caller undoes the rest (bytes written
    /// part-way, index entries) with `rollBack(to:)`.
    func append(_ placed: PlacedBatch) throws(StorageError) {
        precondition(placed.baseOffset >= nextOffset, "batches must be appended in offset order")
        precondition(placed.lastOffset.rawValue - baseOffset.rawValue <= Int64(UInt32.max), "relative offset overflows u32")
        try write(placed, at: size)
        try indexBatch(baseOffset: placed.baseOffset, maxTimestamp: placed.maxTimestamp, totalBytes: placed.totalBytes, at: size)
        size += Int64(placed.totalBytes)
        nextOffset = placed.nextOffset
    }

    private func write(_ placed: PlacedBatch, at position: Int64) throws(StorageError) {
        let prefix = placed.storedPrefix()
        var failure: StorageError?
        prefix.withUnsafeBytes { head in
            placed.batch.bytes.withUnsafeReadableBytes { body in
                do throws(StorageError) {
                    try logFile.write(vectored: [head, UnsafeRawBufferPointer(rebasing: body[PlacedBatch.prefixBytes...])], at: position)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Where the first batch whose last offset is ≥ `offset` starts, or nil if every batch
    /// here ends below it.
    func location(of offset: Offset) throws(LogError) -> BatchLocation? {
        var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: offsetIndex.location(atOrBefore: offset), end: size)
        while let header = try reader.nextHeader() {
            if header.lastOffset >= offset { return reader.location }
            reader.skip(header)
        }
        return nil
    }

    /// Whole batches from `start`, at most `maxBytes` of them (but at least one if
    /// `minOneBatch`, KIP-74), stopping before any batch whose base offset is ≥ `maxOffset`.
    /// The range is read with one positional read into the buffer that is returned, then every
    /// batch in it is validated in place (CRC included) and checked to continue the offsets:
    /// bit rot is reported, never served.
    func read(at start: BatchLocation, maxBytes: Int, maxOffset: Offset, minOneBatch: Bool) throws(LogError) -> ByteBuffer {
        var want = Int(min(Int64(maxBytes), size - start.position))
        if minOneBatch {
            // The first batch may be larger than maxBytes; it is returned whole.
            var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: start, end: size)
            if let first = try reader.nextHeader() { want = max(want, first.totalBytes) }
        }
        guard want > 0 else { return ByteBufferAllocator().buffer(capacity: 0) }
        var buffer = try readRange(at: start.position, count: want)
        var splitter = RecordBatchSplitter(buffer, trailingBytes: .allowPartialTrailingBatch)
        var keep = 0
        var expected = start.baseOffset
        do throws(LogCorruption) {
            while let batch = try nextContiguousBatch(&splitter, expected: expected, from: start) {
                if batch.baseOffset >= maxOffset { break }
                keep = splitter.position
                expected = batch.nextOffset
            }
        } catch {
            // Serve the good batches before the damage; a read that starts at the damaged
            // batch gets the error.
            if keep == 0 { throw .corruptLog(error) }
        }
        buffer.moveWriterIndex(to: buffer.readerIndex + keep)
        return buffer
    }

    /// The splitter's next whole batch, validated and checked to start at `expected`; a failure
    /// names the batch by its position in the file and the offset it should hold.
    private func nextContiguousBatch(_ splitter: inout RecordBatchSplitter, expected: Offset,
                                     from start: BatchLocation) throws(LogCorruption) -> RecordBatch? {
        let position = start.position + Int64(splitter.position)
        func damage(_ reason: String) -> LogCorruption {
            LogCorruption(path: logFile.path, segmentBaseOffset: baseOffset, position: position, offset: expected, reason: reason)
        }
        let next: RecordBatch?
        do throws(RecordBatchError) {
            next = try splitter.next()
        } catch {
            throw damage("\(error)")
        }
        guard let batch = next else { return nil }
        guard batch.baseOffset == expected else { throw damage("base offset is \(batch.baseOffset), not \(expected)") }
        return batch
    }

    /// `count` bytes of the `.log` at `position`, in a new buffer.
    private func readRange(at position: Int64, count: Int) throws(LogError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: StorageError?
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            do throws(StorageError) {
                return try logFile.read(into: UnsafeMutableRawBufferPointer(rebasing: raw.prefix(count)), at: position)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw .storage(failure) }
        guard n == count else {
            throw .corruptLog(LogCorruption(path: logFile.path, segmentBaseOffset: baseOffset, position: position,
                                            offset: nextOffset, reason: "short read: \(n) of \(count) bytes"))
        }
        return buffer
    }

    /// The first record at or after offset `from` whose timestamp is ≥ `timestamp` (Kafka
    /// answers a timestamp lookup with that record's offset and timestamp, not its batch's):
    /// batches are skipped by their maxTimestamp, then the one that qualifies is decoded.
    func firstRecord(withTimestampAtLeast timestamp: Int64, from: Offset) throws(LogError) -> (offset: Offset, timestamp: Int64)? {
        guard maxTimestamp >= timestamp else { return nil }
        let start = max(timeIndex.scanStart(forTimestamp: timestamp), from)
        var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: offsetIndex.location(atOrBefore: start), end: size)
        while let header = try reader.nextHeader() {
            if header.maxTimestamp >= timestamp && header.lastOffset >= from {
                let batch = try reader.readBatch(header)
                guard var records = try? batch.records() else {
                    // Records that cannot be decoded: answer with the batch, as a header-only scan would.
                    return (max(header.baseOffset, from), header.maxTimestamp)
                }
                while let record = try? records.next() {
                    if record.offset >= from && record.timestamp.rawValue >= timestamp {
                        return (record.offset, record.timestamp.rawValue)
                    }
                }
            }
            reader.skip(header)
        }
        return nil
    }

    /// Calls `visit` with every batch header in the segment, oldest first: 61-byte reads only,
    /// no batch body is read or validated (every byte before `size` was validated on append
    /// or recovery).
    func forEachHeader(_ visit: (BatchHeader) -> Void) throws(LogError) {
        var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: BatchLocation(position: 0, baseOffset: baseOffset), end: size)
        while let header = try reader.nextHeader() {
            visit(header)
            reader.skip(header)
        }
    }

    /// Drops every batch whose last offset is ≥ `offset`. Returns the new next offset.
    func truncate(to offset: Offset) throws(LogError) -> Offset {
        guard let location = try location(of: offset) else { return nextOffset }
        return try truncate(atPosition: location.position)
    }

    /// Drops every byte from `position`, a batch boundary (a follower cutting away a damaged
    /// batch whose header cannot be trusted to find it by offset). Returns the new next offset.
    func truncate(atPosition position: Int64) throws(LogError) -> Offset {
        guard position < size else { return nextOffset }
        // Rescan the kept bytes for the next offset and maxTimestamp (the maximum may have come
        // from a dropped batch). Truncation is rare (a follower after a leader change), and the
        // scan reads headers only.
        var next = baseOffset
        var newMax: Int64 = -1
        var newMaxOffset = baseOffset
        var reader = BatchReader(file: logFile, segmentBaseOffset: baseOffset, start: BatchLocation(position: 0, baseOffset: baseOffset), end: position)
        while let header = try reader.nextHeader() {
            next = header.lastOffset.advanced(by: 1)
            if header.maxTimestamp > newMax {
                newMax = header.maxTimestamp
                newMaxOffset = header.baseOffset
            }
            reader.skip(header)
        }
        do throws(StorageError) {
            try logFile.truncate(to: position)
            try offsetIndex.truncate(from: next)
            try timeIndex.truncate(from: next)
            // A truncation must be durable before anything else happens: if a crash undid it,
            // batches the new leader does not have would come back (found by the model test).
            try sync()
        } catch {
            throw .storage(error)
        }
        size = position
        nextOffset = next
        maxTimestamp = newMax
        maxTimestampOffset = newMaxOffset
        bytesSinceIndexEntry = Int(size - Int64(offsetIndex.lastEntry?.position ?? 0))
        bytesSinceTimeEntry = indexIntervalBytes
        return next
    }

    /// Makes the time index end with the segment's largest timestamp. Entries are only written
    /// every `indexIntervalBytes`, so without this the last entry can lie below the true
    /// maximum, and a segment reopened without a scan would start from a stale maximum and
    /// append entries that break the index's ordering promise. Called on roll and on close.
    func sealTimeIndex() throws(StorageError) {
        if maxTimestamp > (timeIndex.lastEntry?.timestamp ?? -1) {
            try timeIndex.append(timestamp: maxTimestamp, offset: maxTimestampOffset)
            bytesSinceTimeEntry = 0
        }
    }

    func sync() throws(StorageError) {
        try logFile.sync()
        try offsetIndex.sync()
        try timeIndex.sync()
    }

    func close() {
        logFile.close()
        offsetIndex.close()
        timeIndex.close()
    }

    func delete(fileSystem: any FileSystem) throws(StorageError) {
        close()
        for suffix in [".log", ".index", ".timeindex"] {
            try fileSystem.remove(joinPath(directory, Self.fileName(baseOffset, suffix)))
        }
    }
}
