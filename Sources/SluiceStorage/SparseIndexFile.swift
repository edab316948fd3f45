import SluiceCore

/// One fixed-size entry of a sparse index file, big-endian on disk.
protocol SparseIndexEntry: Equatable {
    static var byteCount: Int { get }
    init(bytes: [UInt8], at index: Int)
    func appendBytes(to bytes: inout [UInt8])
    /// The entry's batch base offset minus the segment's base offset.
    var relativeOffset: UInt32 { get }
    /// Whether this entry may follow `previous` (the index's ordering promise).
    func follows(_ previous: Self) -> Bool
}

/// What the offset and time indexes share: a file of fixed-size entries, mirrored in memory,
/// appended one entry at a time, checked on open (size, ordering, `validate`), and cut back on
/// truncation of the log. The index types add their entry layout and their lookup.
struct SparseIndexFile<Entry: SparseIndexEntry> {
    let baseOffset: Offset
    let file: any StorageFile
    /// Invariant: each entry `follows` the one before it; equals the file's content.
    private(set) var entries: [Entry] = []

    /// Opens the index and checks every entry; throws `.corrupt` if one fails, so the segment
    /// rebuilds the index from its log.
    init(file: any StorageFile, baseOffset: Offset, validate: (Entry) -> String? = { _ in nil }) throws(StorageError) {
        self.file = file
        self.baseOffset = baseOffset
        let bytes = try file.readAll()
        guard bytes.count % Entry.byteCount == 0 else {
            throw .corrupt(path: file.path, position: Int64(bytes.count), reason: "size is not a multiple of \(Entry.byteCount)")
        }
        for start in stride(from: 0, to: bytes.count, by: Entry.byteCount) {
            let entry = Entry(bytes: bytes, at: start)
            if let previous = entries.last, !entry.follows(previous) {
                throw .corrupt(path: file.path, position: Int64(start), reason: "entries are not increasing")
            }
            if let problem = validate(entry) { throw .corrupt(path: file.path, position: Int64(start), reason: problem) }
            entries.append(entry)
        }
    }

    /// Starts an empty index, discarding whatever the file held.
    init(emptying file: any StorageFile, baseOffset: Offset) throws(StorageError) {
        try file.truncate(to: 0)
        self.file = file
        self.baseOffset = baseOffset
    }

    mutating func append(_ entry: Entry) throws(StorageError) {
        if let last = entries.last { precondition(entry.follows(last), "index entries must increase") }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Entry.byteCount)
        entry.appendBytes(to: &bytes)
        try file.write(bytes, at: Int64(entries.count * Entry.byteCount))
        entries.append(entry)
    }

    /// Drops the entries for batches at or after `offset` (truncation of the log).
    mutating func truncate(from offset: Offset) throws(StorageError) {
        let target = baseOffset.distance(to: offset)
        let keep = entries.prefix { Int64($0.relativeOffset) < target }.count
        entries.removeLast(entries.count - keep)
        try file.truncate(to: Int64(keep * Entry.byteCount))
    }

    func sync() throws(StorageError) { try file.sync() }
    func close() { file.close() }
}
