import SluiceCore
import Synchronization

/// An in-memory `FileSystem` that models what survives a power loss.
///
/// Every file keeps two images: `current` (what reads see) and `durable` (what a crash leaves),
/// plus the writes and truncations made since the last `sync()`. `crash(using:)` keeps a random
/// prefix of each file's unsynced operations, may tear the first operation it drops (a partial
/// write reached the platter), and closes every open handle. That is the contract real disks
/// give with `fdatasync`: nothing synced is lost, anything after it may be partly there.
///
/// Simplification, on purpose: directory operations (create, rename, remove) are durable at
/// once, as if every one were followed by `syncDirectory`. The storage engine still calls
/// `syncDirectory` where a real disk needs it; the simulator does not check that it does.
public final class SimulatedFileSystem: FileSystem {
    enum Operation {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
    }

    struct FileState {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        /// Invariant: applying `unsynced` to `durable` in order gives `current`. Each carries
        /// its global sequence number, for crashes at an exact point.
        var unsynced: [(sequence: Int, operation: Operation)] = []
    }

    struct State {
        var directories: Set<String> = ["/", "."]
        var files: [String: FileState] = [:]
        /// Bumped by every crash; handles opened in an older generation are dead.
        var generation = 0
        var syncCount = 0
        /// The sequence number the next write or truncation gets.
        var nextSequence = 0
    }

    let state = Mutex(State())

    public init() {}

    /// How many `sync()` calls have reached the disk (to measure group commit).
    public var syncCount: Int { state.withLock { $0.syncCount } }

    /// The sequence number the next write or truncation will get; a crash point.
    public var operationSequence: Int { state.withLock { $0.nextSequence } }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        let path = Self.normalize(path)
        state.withLock { state in
            var p = path
            while !state.directories.contains(p) {
                state.directories.insert(p)
                p = parentPath(of: p)
            }
        }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        let path = Self.normalize(path)
        return try state.withLock { (state) throws(StorageError) -> [String] in
            guard state.directories.contains(path) else { throw .notFound(path: path) }
            let prefix = path == "/" ? "/" : path + "/"
            var names = Set<String>()
            for candidate in state.directories.union(state.files.keys) where candidate.hasPrefix(prefix) {
                let rest = candidate.dropFirst(prefix.count)
                if let name = rest.split(separator: "/").first { names.insert(String(name)) }
            }
            return names.sorted()
        }
    }

    public func fileExists(_ path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLock { $0.files[path] != nil || $0.directories.contains(path) }
    }

    public func open(_ path: String, create: Bool) throws(StorageError) -> any StorageFile {
        let path = Self.normalize(path)
        let generation = try state.withLock { (state) throws(StorageError) -> Int in
            if state.files[path] == nil {
                guard create else { throw .notFound(path: path) }
                guard state.directories.contains(parentPath(of: path)) else {
                    throw .notFound(path: parentPath(of: path))
                }
                state.files[path] = FileState()
            }
            return state.generation
        }
        return SimulatedFile(fileSystem: self, path: path, generation: generation)
    }

    public func remove(_ path: String) throws(StorageError) {
        let path = Self.normalize(path)
        state.withLock { state in
            let prefix = path + "/"
            state.files = state.files.filter { $0.key != path && !$0.key.hasPrefix(prefix) }
            state.directories = state.directories.filter { $0 != path && !$0.hasPrefix(prefix) }
        }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        let from = Self.normalize(from)
        let to = Self.normalize(to)
        try state.withLock { (state) throws(StorageError) in
            if let file = state.files.removeValue(forKey: from) {
                state.files[to] = file
                return
            }
            // A directory moves with everything under it, as rename(2) moves it.
            guard state.directories.contains(from), from != "/" else { throw .notFound(path: from) }
            guard !state.directories.contains(to), state.files[to] == nil else {
                throw .io(operation: "rename", path: from, errno: 39)  // ENOTEMPTY, simplified
            }
            let prefix = from + "/"
            func moved(_ path: String) -> String { path == from ? to : to + "/" + path.dropFirst(prefix.count) }
            state.directories = Set(state.directories.map { $0 == from || $0.hasPrefix(prefix) ? moved($0) : $0 })
            var files: [String: FileState] = [:]
            for (path, file) in state.files { files[path.hasPrefix(prefix) ? moved(path) : path] = file }
            state.files = files
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {}

    // MARK: fault injection

    /// Simulates a power loss: each file keeps its synced image plus a random prefix of its
    /// unsynced operations, the first dropped write may be torn, and all open handles die.
    public func crash<R: RandomSource>(using random: inout R) {
        state.withLock { state in
            for path in state.files.keys.sorted() {
                let pending = state.files[path]!.unsynced.count
                let kept = Int(random.next(below: UInt64(pending + 1)))
                let tear = random.next(below: 2) == 0 ? random.next() : nil
                Self.crash(&state.files[path]!, keeping: { $0 < kept }, tear: tear)
            }
            state.generation += 1
        }
    }

    /// Simulates a power loss at an exact point: every unsynced operation numbered below
    /// `sequence` (see `operationSequence`) reached the disk, none after it did, and the one
    /// numbered `sequence`, if it is a write, is torn in half when `tear` is set.
    public func crash(atOperation sequence: Int, tear: Bool) {
        state.withLock { state in
            for path in state.files.keys {
                let ordinal = state.files[path]!.unsynced.firstIndex { $0.sequence >= sequence } ?? Int.max
                let tearsHere = tear && state.files[path]!.unsynced.contains { $0.sequence == sequence }
                Self.crash(&state.files[path]!, keeping: { $0 < ordinal }, tear: tearsHere ? 0 : nil)
            }
            state.generation += 1
        }
    }

    /// Keeps the unsynced operations whose ordinal passes `keeping`; tears the first dropped
    /// write to `tear % (count + 1)` bytes, or to half when `tear` is 0.
    private static func crash(_ file: inout FileState, keeping: (Int) -> Bool, tear: UInt64?) {
        var image = file.durable
        var ordinal = 0
        while ordinal < file.unsynced.count, keeping(ordinal) {
            apply(file.unsynced[ordinal].operation, to: &image)
            ordinal += 1
        }
        if ordinal < file.unsynced.count, let tear, case .write(let offset, let bytes) = file.unsynced[ordinal].operation {
            let torn = tear == 0 ? bytes.count / 2 : Int(tear % UInt64(bytes.count + 1))
            apply(.write(offset: offset, bytes: Array(bytes.prefix(torn))), to: &image)
        }
        file = FileState(current: image, durable: image, unsynced: [])
    }

    /// Simulates a clean restart: everything written survives (the OS flushed its page cache),
    /// but open handles die.
    public func restartCleanly() {
        state.withLock { state in
            state.generation += 1
            for path in state.files.keys {
                state.files[path]!.durable = state.files[path]!.current
                state.files[path]!.unsynced = []
            }
        }
    }

    /// Flips one bit of the byte at `position` in both images (bit rot on a synced file).
    public func flipByte(_ path: String, at position: Int) {
        let path = Self.normalize(path)
        state.withLock { state in
            guard var file = state.files[path], position < file.current.count else { return }
            file.current[position] ^= 0x40
            if position < file.durable.count { file.durable[position] ^= 0x40 }
            state.files[path] = file
        }
    }

    static func apply(_ op: Operation, to image: inout [UInt8]) {
        switch op {
        case .write(let offset, let bytes):
            if image.count < offset + bytes.count {
                image.append(contentsOf: repeatElement(0, count: offset + bytes.count - image.count))
            }
            image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        case .truncate(let size):
            if image.count > size {
                image.removeLast(image.count - size)
            } else {
                image.append(contentsOf: repeatElement(0, count: size - image.count))
            }
        }
    }

    fileprivate func withFile<T>(
        _ path: String, generation: Int, _ body: (inout FileState, inout State) throws(StorageError) -> T
    ) throws(StorageError) -> T {
        try state.withLock { (state) throws(StorageError) -> T in
            guard state.generation == generation, var file = state.files[path] else { throw .closed(path: path) }
            let result = try body(&file, &state)
            state.files[path] = file
            return result
        }
    }
}

/// A handle on a `SimulatedFileSystem` file; dead after a crash or restart.
final class SimulatedFile: StorageFile {
    let fileSystem: SimulatedFileSystem
    let path: String
    /// The file system generation this handle belongs to; -1 once closed.
    private let generationState: Atomic<Int>
    private var generation: Int { generationState.load(ordering: .acquiring) }

    init(fileSystem: SimulatedFileSystem, path: String, generation: Int) {
        self.fileSystem = fileSystem
        self.path = path
        self.generationState = Atomic(generation)
    }

    func size() throws(StorageError) -> Int64 {
        try fileSystem.withFile(path, generation: generation) { file, _ in Int64(file.current.count) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        let op = SimulatedFileSystem.Operation.write(offset: Int(offset), bytes: Array(bytes))
        try fileSystem.withFile(path, generation: generation) { file, state in
            SimulatedFileSystem.apply(op, to: &file.current)
            file.unsynced.append((state.nextSequence, op))
            state.nextSequence += 1
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        try fileSystem.withFile(path, generation: generation) { file, _ in
            let start = Int(offset)
            guard start < file.current.count else { return 0 }
            let n = min(buffer.count, file.current.count - start)
            file.current.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    func sync() throws(StorageError) {
        try fileSystem.withFile(path, generation: generation) { file, state in
            file.durable = file.current
            file.unsynced = []
            state.syncCount += 1
        }
    }

    func truncate(to size: Int64) throws(StorageError) {
        let op = SimulatedFileSystem.Operation.truncate(size: Int(size))
        try fileSystem.withFile(path, generation: generation) { file, state in
            SimulatedFileSystem.apply(op, to: &file.current)
            file.unsynced.append((state.nextSequence, op))
            state.nextSequence += 1
        }
    }

    func close() { generationState.store(-1, ordering: .releasing) }
}
