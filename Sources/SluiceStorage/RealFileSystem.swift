#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The real disk, through POSIX calls. Stateless, so freely shared between threads.
public struct RealFileSystem: FileSystem {
    public init() {}

    public func createDirectory(_ path: String) throws(StorageError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: built, errno: errno)
            }
        }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { throw .notFound(path: path) }
            throw .io(operation: "opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func open(_ path: String, create: Bool) throws(StorageError) -> any StorageFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 {
            if errno == ENOENT { throw .notFound(path: path) }
            throw .io(operation: "open", path: path, errno: errno)
        }
        return RealFile(path: path, descriptor: fd)
    }

    public func remove(_ path: String) throws(StorageError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .io(operation: "stat", path: path, errno: errno)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try listDirectory(path) { try remove(joinPath(path, name)) }
            if rmdir(path) != 0 { throw .io(operation: "rmdir", path: path, errno: errno) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw .io(operation: "unlink", path: path, errno: errno)
        }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw .io(operation: "rename", path: from, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw .io(operation: "fsync", path: path, errno: errno) }
    }
}

/// An open POSIX file descriptor.
///
/// `close()` only marks the handle closed; the descriptor itself is closed in `deinit`, when no
/// thread can still be inside a call with it. A syncer racing a close therefore never fsyncs a
/// descriptor number the kernel has handed to another file.
final class RealFile: StorageFile {
    let path: String
    private let descriptor: Int32
    private let isClosed = Atomic<Bool>(false)

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    private func checkOpen() throws(StorageError) -> Int32 {
        guard !isClosed.load(ordering: .acquiring) else { throw .closed(path: path) }
        return descriptor
    }

    func size() throws(StorageError) -> Int64 {
        var info = stat()
        guard fstat(try checkOpen(), &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        let fd = try checkOpen()
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    func write(vectored parts: [UnsafeRawBufferPointer], at offset: Int64) throws(StorageError) {
        let fd = try checkOpen()
        var vectors = parts.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var position = offset
        var first = 0
        while first < vectors.count {
            let n = vectors[first...].withUnsafeBufferPointer { pwritev(fd, $0.baseAddress, Int32($0.count), off_t(position)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwritev", path: path, errno: errno)
            }
            // Skip the fully written vectors and trim a partially written one.
            var written = n
            position += Int64(n)
            while first < vectors.count, written >= vectors[first].iov_len {
                written -= vectors[first].iov_len
                first += 1
            }
            if first < vectors.count, written > 0 {
                vectors[first].iov_base += written
                vectors[first].iov_len -= written
            }
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        let fd = try checkOpen()
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func sync() throws(StorageError) {
        // fdatasync: file data plus the size change, which is all recovery needs.
        if fdatasync(try checkOpen()) != 0 { throw .io(operation: "fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws(StorageError) {
        if ftruncate(try checkOpen(), off_t(size)) != 0 { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    func close() { isClosed.store(true, ordering: .releasing) }
}
