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
/// segment's largest timestamp, and at most once per `indexIntervalBytes`. Derived data,
/// rebuilt from the `.log` if a check fails.
struct TimeIndex {
    static let entryBytes = 12

    struct Entry: Equatable {
        var timestamp: Int64
        var relativeOffset: UInt32
    }

    let baseOffset: Offset
    private let file: any StorageFile
    /// Invariant: strictly increasing in `timestamp`, non-decreasing in `relativeOffset`.
    private(set) var entries: [Entry] = []

    init(file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        self.file = file
        self.baseOffset = baseOffset
        let bytes = try file.readAll()
        guard bytes.count % Self.entryBytes == 0 else {
            throw .corrupt(path: file.path, position: Int64(bytes.count), reason: "size is not a multiple of \(Self.entryBytes)")
        }
        var previous: Entry?
        for start in stride(from: 0, to: bytes.count, by: Self.entryBytes) {
            let entry = Entry(timestamp: Int64(bitPattern: bytes.bigEndianUInt64(at: start)),
                              relativeOffset: bytes.bigEndianUInt32(at: start + 8))
            if let previous, entry.timestamp <= previous.timestamp || entry.relativeOffset < previous.relativeOffset {
                throw .corrupt(path: file.path, position: Int64(start), reason: "entries are not increasing")
            }
            entries.append(entry)
            previous = entry
        }
    }

    init(emptying file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        try file.truncate(to: 0)
        self.file = file
        self.baseOffset = baseOffset
    }

    var lastEntry: Entry? { entries.last }

    mutating func append(timestamp: Int64, offset: Offset) throws(StorageError) {
        let entry = Entry(timestamp: timestamp, relativeOffset: UInt32(baseOffset.distance(to: offset)))
        if let last = entries.last {
            precondition(entry.timestamp > last.timestamp && entry.relativeOffset >= last.relativeOffset,
                         "time index entries must increase")
        }
        var bytes = [UInt8]()
        bytes.appendBigEndian(UInt64(bitPattern: entry.timestamp))
        bytes.appendBigEndian(entry.relativeOffset)
        try file.write(bytes, at: Int64(entries.count * Self.entryBytes))
        entries.append(entry)
    }

    /// An offset from which a forward scan finds the first batch whose maxTimestamp is at
    /// least `timestamp`: the offset of the last entry whose timestamp is strictly below it
    /// (every batch before that entry's batch has a smaller maximum), or the segment's start.
    func scanStart(forTimestamp timestamp: Int64) -> Offset {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].timestamp < timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? baseOffset : baseOffset.advanced(by: Int64(entries[low - 1].relativeOffset))
    }

    mutating func truncate(from offset: Offset) throws(StorageError) {
        let target = baseOffset.distance(to: offset)
        let keep = entries.prefix { Int64($0.relativeOffset) < target }.count
        entries.removeLast(entries.count - keep)
        try file.truncate(to: Int64(keep * Self.entryBytes))
    }

    func sync() throws(StorageError) { try file.sync() }
    func close() { file.close() }
}
