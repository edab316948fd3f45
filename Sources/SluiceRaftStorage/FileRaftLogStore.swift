import SluiceCore
import SluiceRaft

#if canImport(Glibc)
import Glibc
private let systemClose = Glibc.close
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemClose = Darwin.close
private let systemWrite = Darwin.write
#endif

/// A `RaftLogStore` on real files in one directory:
///
/// - `raft.wal`: `WALRecord` frames appended in order (received snapshots, entries, hard
///   states). `write` buffers, `sync` appends the buffer and fsyncs.
/// - `raft.snapshot`: one snapshot frame from the latest local compaction, replaced
///   atomically (temp file, fsync, rename, fsync of the directory).
///
/// Recovery reads the snapshot file, replays the WAL and truncates it at the first frame that
/// is incomplete or fails its CRC: that tail was never synced (or a sync was torn by the
/// crash), so nothing in it was acknowledged to anyone.
public struct FileRaftLogStore: RaftLogStore {
    public let directory: String
    public private(set) var recoveredState: RaftPersistentState
    /// What the files hold once `pending` is synced. Invariant: entries contiguous after the
    /// snapshot, like `RaftPersistentState`.
    private var state: RaftPersistentState
    /// Framed records written and not yet synced.
    private var pending: [UInt8] = []
    /// Bytes dropped from the WAL's tail at open (for tests and logs).
    public private(set) var truncatedTailBytes = 0
    private var fd: Int32

    var walPath: String { directory + "/raft.wal" }
    var snapshotPath: String { directory + "/raft.snapshot" }

    /// Open (creating if needed) the store in `directory`, recovering what is durable.
    public init(directory: String) throws(RaftStoreError) {
        self.directory = directory
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw Self.error("mkdir", directory) }
        var recovered = RaftPersistentState.empty
        if let bytes = try Self.readFile(directory + "/raft.snapshot"),
           case .snapshot(let s)? = WALRecord.decode(bytes, at: 0)?.0 {
            recovered.snapshot = s
        }
        let wal = try Self.readFile(directory + "/raft.wal") ?? []
        var offset = 0
        while offset < wal.count, let (record, next) = WALRecord.decode(wal, at: offset) {
            Self.apply(record, to: &recovered)
            offset = next
        }
        fd = open(directory + "/raft.wal", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw Self.error("open", directory + "/raft.wal") }
        if offset < wal.count {
            truncatedTailBytes = wal.count - offset
            guard ftruncate(fd, off_t(offset)) == 0, fsync(fd) == 0 else { throw Self.error("truncate", directory + "/raft.wal") }
        }
        state = recovered
        recoveredState = recovered
    }

    /// Close the WAL. Unsynced writes are lost, as in a crash.
    public mutating func close() {
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    public mutating func write(_ ready: Ready) throws(RaftStoreError) {
        var records: [WALRecord] = []
        if let s = ready.snapshot { records.append(.snapshot(s)) }
        records += ready.entries.map(WALRecord.entry)
        if let hs = ready.hardState { records.append(.hardState(hs)) }
        for r in records {
            pending += r.framed()
            Self.apply(r, to: &state)
        }
    }

    public mutating func sync() throws(RaftStoreError) {
        precondition(fd >= 0, "store is closed")
        var written = 0
        while written < pending.count {
            let n = pending.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Self.error("write", walPath) }
            written += n
        }
        pending = []
        guard fsync(fd) == 0 else { throw Self.error("fsync", walPath) }
    }

    /// Write the snapshot file atomically, then rewrite the WAL without the entries it covers
    /// (also atomically). A crash between the two leaves old entries in the WAL, which
    /// recovery skips because the snapshot covers them.
    public mutating func compact(to snapshot: RaftSnapshot) throws(RaftStoreError) {
        try sync()
        try Self.replaceFile(snapshotPath, with: WALRecord.snapshot(snapshot).framed(), directory: directory)
        state.snapshot = snapshot
        state.entries.removeAll { $0.index <= snapshot.index }
        var wal = WALRecord.hardState(state.hardState).framed()
        for e in state.entries { wal += WALRecord.entry(e).framed() }
        close()
        try Self.replaceFile(walPath, with: wal, directory: directory)
        fd = open(walPath, O_WRONLY | O_APPEND)
        guard fd >= 0 else { throw Self.error("open", walPath) }
    }

    // MARK: helpers

    static func apply(_ record: WALRecord, to s: inout RaftPersistentState) {
        switch record {
        case .snapshot(let snap):
            // Older than what we have (a received snapshot replayed after a newer local
            // compaction): already covered.
            guard snap.index > (s.snapshot?.index ?? .zero) else { return }
            s.snapshot = snap
            s.entries = []
        case .entry(let e):
            let base = s.snapshot?.index ?? .zero
            guard e.index > base else { return }
            let last = s.entries.last?.index ?? base
            precondition(e.index <= last.next, "WAL entries are not contiguous: \(e) after \(last)")
            s.entries.removeSubrange(Int(e.index.rawValue - base.rawValue - 1)...)
            s.entries.append(e)
        case .hardState(let hs):
            s.hardState = hs
        }
    }

    static func readFile(_ path: String) throws(RaftStoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw error("open", path)
        }
        defer { _ = systemClose(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw error("read", path) }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    static func replaceFile(_ path: String, with bytes: [UInt8], directory: String) throws(RaftStoreError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw error("open", tmp) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                _ = systemClose(fd)
                throw error("write", tmp)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            _ = systemClose(fd)
            throw error("fsync", tmp)
        }
        _ = systemClose(fd)
        guard rename(tmp, path) == 0 else { throw error("rename", path) }
        // The rename itself must be durable before anything relies on it.
        let dfd = open(directory, O_RDONLY)
        guard dfd >= 0 else { throw error("open", directory) }
        defer { _ = systemClose(dfd) }
        guard fsync(dfd) == 0 else { throw error("fsync", directory) }
    }

    static func error(_ op: String, _ path: String) -> RaftStoreError {
        RaftStoreError(operation: op, path: path, errno: errno)
    }
}
