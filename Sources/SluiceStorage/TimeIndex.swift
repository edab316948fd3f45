import SluiceCore

/// A segment's `.timeindex`: a sparse, increasing map from record timestamps to offsets, so
/// ListOffsets-by-timestamp (and time-based retention) need not scan whole segments.
///
/// File format: a sequence of 12-byte entries, big-endian.
/// ```
///  0                 8        12
///  +-----------------+--------+
///  | timestamp (i64) | relOff |   timestamp: the largest batch maxTimestamp seen so far (ms)
///  +-----------------+--------+   relOff:    u32, baseOffset of the batch that has it, minus
///                                            the segment's base offset
/// ```
/// Timestamps are strictly increasing: an entry is written only when a batch raises the
/// segment's largest timestamp, and at most once per `indexIntervalBytes` (plus once when the
/// segment is sealed, see `LogSegment.sealTimeIndex`). Derived data, rebuilt from the `.log` if
/// a check fails.
struct TimeIndex {
    struct Entry: SparseIndexEntry {
        var timestamp: Int64
        var relativeOffset: UInt32

        static let byteCount = 12
        init(timestamp: Int64, relativeOffset: UInt32) {
            self.timestamp = timestamp
            self.relativeOffset = relativeOffset
        }
        init(bytes: [UInt8], at index: Int) {
            self.init(timestamp: Int64(bitPattern: bytes.bigEndianUInt64(at: index)),
                      relativeOffset: bytes.bigEndianUInt32(at: index + 8))
        }
        func appendBytes(to bytes: inout [UInt8]) {
            bytes.appendBigEndian(UInt64(bitPattern: timestamp))
            bytes.appendBigEndian(relativeOffset)
        }
        func follows(_ previous: Entry) -> Bool {
            timestamp > previous.timestamp && relativeOffset >= previous.relativeOffset
        }
    }

    private var index: SparseIndexFile<Entry>
    var baseOffset: Offset { index.baseOffset }
    var entries: [Entry] { index.entries }
    var lastEntry: Entry? { index.entries.last }

    init(file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        index = try SparseIndexFile(file: file, baseOffset: baseOffset)
    }

    init(emptying file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        index = try SparseIndexFile(emptying: file, baseOffset: baseOffset)
    }

    mutating func append(timestamp: Int64, offset: Offset) throws(StorageError) {
        try index.append(Entry(timestamp: timestamp, relativeOffset: UInt32(baseOffset.distance(to: offset))))
    }

    /// An offset from which a forward scan finds the first batch whose maxTimestamp is at
    /// least `timestamp`: the offset of the last entry whose timestamp is strictly below it
    /// (every batch before that entry's batch has a smaller maximum), or the segment's start.
    func scanStart(forTimestamp timestamp: Int64) -> Offset {
        let entries = index.entries
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].timestamp < timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? baseOffset : baseOffset.advanced(by: Int64(entries[low - 1].relativeOffset))
    }

    mutating func truncate(from offset: Offset) throws(StorageError) { try index.truncate(from: offset) }
    func sync() throws(StorageError) { try index.sync() }
    func close() { index.close() }
}
