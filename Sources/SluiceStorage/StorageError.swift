/// Expected storage failures. Each carries the path and what the operating system or the
/// format check said, so a log line or a Kafka error can say exactly what went wrong.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed (`errno`).
    case io(operation: String, path: String, errno: Int32)
    /// A file or directory that must exist does not.
    case notFound(path: String)
    /// Bytes on disk fail a check (CRC, length, magic, monotonic index). `position` is the byte
    /// offset in the file where the bad data starts.
    case corrupt(path: String, position: Int64, reason: String)
    /// A caller asked for something the log cannot do (offset out of range, append below the
    /// log end offset, a batch over the segment limit).
    case invalidArgument(String)
    /// The log or file has been closed (shut down or deleted) and cannot serve the request.
    case closed(path: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            "\(operation) \(path) failed: \(describeErrno(code)) (errno \(code))"
        case .notFound(let path): "\(path) does not exist"
        case .corrupt(let path, let position, let reason): "\(path) is corrupt at byte \(position): \(reason)"
        case .invalidArgument(let reason): reason
        case .closed(let path): "\(path) is closed"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func describeErrno(_ code: Int32) -> String {
    guard let message = strerror(code) else { return "unknown error" }
    return String(cString: message)
}
