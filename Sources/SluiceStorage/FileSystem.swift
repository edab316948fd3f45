/// The storage engine's only window onto disks. The real implementation calls POSIX; the
/// simulated one keeps files in memory and can crash, which is how storage and Raft are tested
/// against power loss (DESIGN §2.3, CONVENTIONS: disk injected from day one).
///
/// Paths are plain strings joined with `/`. Every method may block on I/O: callers keep it off
/// Swift's cooperative pool (the broker runs storage on dedicated I/O threads).
public protocol FileSystem: Sendable {
    /// Creates `path` and any missing parents; succeeds if it already exists.
    func createDirectory(_ path: String) throws(StorageError)
    /// Names (not paths) of the entries in `path`, sorted.
    func listDirectory(_ path: String) throws(StorageError) -> [String]
    func fileExists(_ path: String) -> Bool
    /// Opens `path` for reading and writing, creating it if `create` is set.
    func open(_ path: String, create: Bool) throws(StorageError) -> any StorageFile
    /// Removes a file, or a directory with everything in it.
    func remove(_ path: String) throws(StorageError)
    /// Atomically replaces the file `to` with `from`, or moves the directory `from` (with
    /// everything in it) to `to`, which must not exist.
    func rename(_ from: String, to: String) throws(StorageError)
    /// Makes the directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws(StorageError)
}

/// An open file with positional I/O. One owner (a segment) writes; another thread may call
/// `sync()` or `size()` at the same time (group commit), which both implementations allow.
public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    /// The current size in bytes, including writes not yet synced.
    func size() throws(StorageError) -> Int64
    /// Writes all of `bytes` at `offset` (extending the file if needed).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError)
    /// Writes `parts` back to back at `offset` (one `pwritev` on a real disk), so a patched
    /// header and an untouched body go out without first being copied together.
    func write(vectored parts: [UnsafeRawBufferPointer], at offset: Int64) throws(StorageError)
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at
    /// the end of the file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int
    /// Makes every write so far durable (fsync / fdatasync).
    func sync() throws(StorageError)
    /// Cuts the file to `size` bytes.
    func truncate(to size: Int64) throws(StorageError)
    /// Releases the handle. Further calls fail with `.closed`.
    func close()
}

extension StorageFile {
    public func write(vectored parts: [UnsafeRawBufferPointer], at offset: Int64) throws(StorageError) {
        var position = offset
        for part in parts {
            try write(part, at: position)
            position += Int64(part.count)
        }
    }

    /// Appends-style convenience: writes `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(StorageError) {
        var failure: StorageError?
        bytes.withUnsafeBytes { raw in
            do throws(StorageError) { try write(raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads exactly `count` bytes at `offset` (fewer at end of file).
    public func read(count: Int, at offset: Int64) throws(StorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var result: Result<Int, StorageError> = .success(0)
        bytes.withUnsafeMutableBytes { raw in
            result = Result { () throws(StorageError) in try read(into: raw, at: offset) }
        }
        bytes.removeLast(count - (try result.get()))
        return bytes
    }

    /// Reads the whole file.
    public func readAll() throws(StorageError) -> [UInt8] {
        try read(count: Int(try size()), at: 0)
    }
}

/// Joins path components with `/`.
@inlinable
public func joinPath(_ base: String, _ name: String) -> String {
    base.hasSuffix("/") ? base + name : base + "/" + name
}

extension FileSystem {
    /// Replaces the small file at `path` with `text` atomically: written to `<path>.tmp`,
    /// fsynced, renamed over the old file, and the directory fsynced. A crash leaves either the
    /// old or the new content, never a mix.
    func replaceAtomically(_ path: String, with text: String) throws(StorageError) {
        let temporary = path + ".tmp"
        let file = try open(temporary, create: true)
        defer { file.close() }
        try file.truncate(to: 0)
        try file.write(Array(text.utf8), at: 0)
        try file.sync()
        try rename(temporary, to: path)
        try syncDirectory(parentPath(of: path))
    }
}

/// The directory part of `path` (`.` for a bare name).
public func parentPath(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
