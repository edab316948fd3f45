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
/// Entries are strictly increasing in both fields. One is written for the first batch of the
/// segment and then for the first batch after every `indexIntervalBytes` of log. The file is
/// derived data: if it fails any check on open, the segment rebuilds it from the `.log`.
///
/// All entries are also kept in memory (a 1 GiB segment with a 4 KiB interval has at most
/// 262,144 entries, 2 MiB), so lookups never touch the disk.
struct OffsetIndex {
    static let entryBytes = 8

    struct Entry: Equatable {
        var relativeOffset: UInt32
        var position: UInt32
    }

    let baseOffset: Offset
    private let file: any StorageFile
    /// Invariant: strictly increasing in `relativeOffset` and `position`; equals the file.
    private(set) var entries: [Entry] = []

    /// Opens the index and checks every entry; throws `.corrupt` if one fails, so the segment
    /// rebuilds the index from its log.
    init(file: any StorageFile, baseOffset: Offset, logSize: Int64) throws(StorageError) {
        self.file = file
        self.baseOffset = baseOffset
        let bytes = try file.readAll()
        guard bytes.count % Self.entryBytes == 0 else {
            throw .corrupt(path: file.path, position: Int64(bytes.count), reason: "size is not a multiple of \(Self.entryBytes)")
        }
        var previous: Entry?
        for start in stride(from: 0, to: bytes.count, by: Self.entryBytes) {
            let entry = Entry(relativeOffset: bytes.bigEndianUInt32(at: start),
                              position: bytes.bigEndianUInt32(at: start + 4))
            if let previous, entry.relativeOffset <= previous.relativeOffset || entry.position <= previous.position {
                throw .corrupt(path: file.path, position: Int64(start), reason: "entries are not increasing")
            }
            if Int64(entry.position) >= logSize {
                throw .corrupt(path: file.path, position: Int64(start), reason: "position \(entry.position) is past the log's \(logSize) bytes")
            }
            entries.append(entry)
            previous = entry
        }
    }

    /// Starts an empty index, discarding whatever the file held.
    init(emptying file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        try file.truncate(to: 0)
        self.file = file
        self.baseOffset = baseOffset
    }

    var lastEntry: Entry? { entries.last }

    mutating func append(offset: Offset, position: Int64) throws(StorageError) {
        let relative = UInt32(baseOffset.distance(to: offset))
        let entry = Entry(relativeOffset: relative, position: UInt32(position))
        if let last = entries.last {
            precondition(entry.relativeOffset > last.relativeOffset && entry.position > last.position,
                         "offset index entries must increase")
        }
        var bytes = [UInt8]()
        bytes.appendBigEndian(entry.relativeOffset)
        bytes.appendBigEndian(entry.position)
        try file.write(bytes, at: Int64(entries.count * Self.entryBytes))
        entries.append(entry)
    }

    /// The position of the last indexed batch that starts at or before `offset`, or 0.
    func position(atOrBefore offset: Offset) -> Int64 {
        let target = baseOffset.distance(to: offset)
        guard target >= 0 else { return 0 }
        // Binary search for the last entry with relativeOffset <= target.
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if Int64(entries[mid].relativeOffset) <= target { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : Int64(entries[low - 1].position)
    }

    /// Drops entries for batches at or after `offset` (truncation of the log).
    mutating func truncate(from offset: Offset) throws(StorageError) {
        let target = baseOffset.distance(to: offset)
        let keep = entries.prefix { Int64($0.relativeOffset) < target }.count
        entries.removeLast(entries.count - keep)
        try file.truncate(to: Int64(keep * Self.entryBytes))
    }

    func sync() throws(StorageError) { try file.sync() }
    func close() { file.close() }
}
