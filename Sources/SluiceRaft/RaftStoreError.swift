/// An I/O failure of a `RaftLogStore`; a node that hits one must stop (it cannot promise
/// durability any more).
public struct RaftStoreError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32
    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }
    public var description: String { "\(operation) \(path) failed (errno \(errno))" }
}
