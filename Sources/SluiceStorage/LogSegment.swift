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
    static func open(fileSystem: any FileSystem, directory: String, baseOffset: Offset, indexIntervalBytes: Int,
                     recover: Bool, nowMs: Int64) throws(StorageError) -> (LogSegment, RecoveryReport) {
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
        try segment.scan(logSize: logSize, rebuildIndexes: mustRebuild, report: &report)
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
    /// setting `size`, `nextOffset` and `maxTimestamp`; truncates at the first bad batch.
    private func scan(logSize: Int64, rebuildIndexes: Bool, report: inout RecoveryReport) throws(StorageError) {
        var position: Int64 = 0
        if !rebuildIndexes {
            // A sealed time index (see `sealTimeIndex`) ends with the segment's maximum.
            if let last = timeIndex.lastEntry {
                maxTimestamp = last.timestamp
                maxTimestampOffset = baseOffset.advanced(by: Int64(last.relativeOffset))
            }
            if let last = offsetIndex.lastEntry { position = Int64(last.position) }
        }
        var previousNext: Offset? = nil
        var reader = BatchReader(file: logFile, position: position, end: logSize)
        while true {
            let batch: RecordBatch
            do throws(LogError) {
                guard let next = try reader.next() else { break }
                batch = next
            } catch {
                report.truncatedBytes = logSize - reader.position
                report.reason = error.description
                break
            }
            if let previousNext, batch.baseOffset < previousNext {
                report.truncatedBytes = logSize - reader.position
                report.reason = "batch at byte \(reader.position) has offset \(batch.baseOffset) below \(previousNext)"
                break
            }
            if previousNext == nil && position == 0 && batch.baseOffset < baseOffset {
                report.truncatedBytes = logSize
                report.reason = "first batch has offset \(batch.baseOffset) below the segment base \(baseOffset)"
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
            previousNext = batch.nextOffset
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

    /// Appends a batch at its placed offset and epoch, writing the 16-byte prefix that carries
    /// them and the batch's remaining bytes in one vectored write, without copying the batch.
    /// Precondition: it follows the segment's last batch.
    func append(_ placed: PlacedBatch) throws(StorageError) {
        precondition(placed.baseOffset >= nextOffset, "batches must be appended in offset order")
        precondition(placed.lastOffset.rawValue - baseOffset.rawValue <= Int64(UInt32.max), "relative offset overflows u32")
        let position = size
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
        size += Int64(placed.totalBytes)
        try indexBatch(baseOffset: placed.baseOffset, maxTimestamp: placed.maxTimestamp, totalBytes: placed.totalBytes, at: position)
        nextOffset = placed.nextOffset
    }

    /// The byte position of the first batch whose last offset is ≥ `offset`, or nil if every
    /// batch here ends below it.
    func position(of offset: Offset) throws(LogError) -> Int64? {
        var reader = BatchReader(file: logFile, position: offsetIndex.position(atOrBefore: offset), end: size)
        while let header = try reader.nextHeader() {
            if header.lastOffset >= offset { return reader.position }
            reader.skip(header)
        }
        return nil
    }

    /// Whole batches starting at byte `position`, at most `maxBytes` of them (but at least one
    /// if `minOneBatch`, KIP-74), stopping before any batch whose base offset is ≥ `maxOffset`.
    /// The range is read with one positional read into the buffer that is returned, then every
    /// batch in it is validated in place (CRC included): bit rot is reported, never served.
    func read(at position: Int64, maxBytes: Int, maxOffset: Offset, minOneBatch: Bool) throws(LogError) -> ByteBuffer {
        var want = Int(min(Int64(maxBytes), size - position))
        if minOneBatch {
            // The first batch may be larger than maxBytes; it is returned whole.
            var reader = BatchReader(file: logFile, position: position, end: size)
            if let first = try reader.nextHeader() { want = max(want, first.totalBytes) }
        }
        guard want > 0 else { return ByteBufferAllocator().buffer(capacity: 0) }
        var buffer = try readRange(at: position, count: want)
        var splitter = RecordBatchSplitter(buffer, trailingBytes: .allowPartialTrailingBatch)
        var keep = 0
        do throws(RecordBatchError) {
            while let batch = try splitter.next() {
                if batch.baseOffset >= maxOffset { break }
                keep = splitter.position
            }
        } catch {
            // Serve the good batches before the damage; a read that starts at the damaged
            // batch gets the error.
            if keep == 0 {
                throw .corruptLog(path: logFile.path, position: position + Int64(splitter.position), reason: "\(error)")
            }
        }
        buffer.moveWriterIndex(to: buffer.readerIndex + keep)
        return buffer
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
            throw .corruptLog(path: logFile.path, position: position, reason: "short read: \(n) of \(count) bytes")
        }
        return buffer
    }

    /// The first record at or after offset `from` whose timestamp is ≥ `timestamp` (Kafka
    /// answers a timestamp lookup with that record's offset and timestamp, not its batch's):
    /// batches are skipped by their maxTimestamp, then the one that qualifies is decoded.
    func firstRecord(withTimestampAtLeast timestamp: Int64, from: Offset) throws(LogError) -> (offset: Offset, timestamp: Int64)? {
        guard maxTimestamp >= timestamp else { return nil }
        let start = max(timeIndex.scanStart(forTimestamp: timestamp), from)
        var reader = BatchReader(file: logFile, position: offsetIndex.position(atOrBefore: start), end: size)
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
        var reader = BatchReader(file: logFile, position: 0, end: size)
        while let header = try reader.nextHeader() {
            visit(header)
            reader.skip(header)
        }
    }

    /// Drops every batch whose last offset is ≥ `offset`. Returns the new next offset.
    func truncate(to offset: Offset) throws(LogError) -> Offset {
        guard let position = try position(of: offset) else { return nextOffset }
        // Rescan the kept bytes for the next offset and maxTimestamp (the maximum may have come
        // from a dropped batch). Truncation is rare (a follower after a leader change), and the
        // scan reads headers only.
        var next = baseOffset
        var newMax: Int64 = -1
        var newMaxOffset = baseOffset
        var reader = BatchReader(file: logFile, position: 0, end: position)
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
