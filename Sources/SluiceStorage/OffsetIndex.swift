import SluiceCore

/// A segment's `.index`: a sparse map from offset to the byte position of a batch in the
/// segment's `.log`, so a read from offset N seeks near N instead of scanning the segment.
///
/// File format: a sequence of 8-byte entries, big-endian, with nothing before or after them.
/// ```
///  0        4        8
///  +--------+--------+
///  | relOff | pos    |   relOff: u32 = batch.baseOffset - segment.baseOffset
///  +--------+--------+   pos:    u32 = byte position of that batch in the .log
/// ```
/// Entries are strictly increasing in both fields. One is written for the first batch after
/// every `indexIntervalBytes` of log (position 0 is implied). The file is derived data: if it
/// fails any check on open, the segment rebuilds it from the `.log`.
///
/// All entries are also kept in memory (a 1 GiB segment with a 4 KiB interval has at most
/// 262,144 entries, 2 MiB), so lookups never touch the disk.
struct OffsetIndex {
    struct Entry: SparseIndexEntry {
        var relativeOffset: UInt32
        var position: UInt32

        static let byteCount = 8
        init(relativeOffset: UInt32, position: UInt32) {
            self.relativeOffset = relativeOffset
            self.position = position
        }
        init(bytes: [UInt8], at index: Int) {
            self.init(relativeOffset: bytes.bigEndianUInt32(at: index), position: bytes.bigEndianUInt32(at: index + 4))
        }
        func appendBytes(to bytes: inout [UInt8]) {
            bytes.appendBigEndian(relativeOffset)
            bytes.appendBigEndian(position)
        }
        func follows(_ previous: Entry) -> Bool {
            relativeOffset > previous.relativeOffset && position > previous.position
        }
    }

    private var index: SparseIndexFile<Entry>
    var baseOffset: Offset { index.baseOffset }
    var entries: [Entry] { index.entries }
    var lastEntry: Entry? { index.entries.last }

    /// Opens the index; every entry must point inside the log's `logSize` bytes.
    init(file: any StorageFile, baseOffset: Offset, logSize: Int64) throws(StorageError) {
        index = try SparseIndexFile(file: file, baseOffset: baseOffset) { entry in
            Int64(entry.position) >= logSize ? "position \(entry.position) is past the log's \(logSize) bytes" : nil
        }
    }

    init(emptying file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        index = try SparseIndexFile(emptying: file, baseOffset: baseOffset)
    }

    mutating func append(offset: Offset, position: Int64) throws(StorageError) {
        try index.append(Entry(relativeOffset: UInt32(baseOffset.distance(to: offset)), position: UInt32(position)))
    }

    /// The last indexed batch that starts at or before `offset`, or the segment's first batch.
    func location(atOrBefore offset: Offset) -> BatchLocation {
        let start = BatchLocation(position: 0, baseOffset: baseOffset)
        let target = baseOffset.distance(to: offset)
        guard target >= 0 else { return start }
        // Binary search for the last entry with relativeOffset <= target.
        let entries = index.entries
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if Int64(entries[mid].relativeOffset) <= target { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return start }
        let entry = entries[low - 1]
        return BatchLocation(position: Int64(entry.position), baseOffset: baseOffset.advanced(by: Int64(entry.relativeOffset)))
    }

    /// The byte position of `location(atOrBefore:)`.
    func position(atOrBefore offset: Offset) -> Int64 { location(atOrBefore: offset).position }

    mutating func truncate(from offset: Offset) throws(StorageError) { try index.truncate(from: offset) }
    func sync() throws(StorageError) { try index.sync() }
    func close() { index.close() }
}
