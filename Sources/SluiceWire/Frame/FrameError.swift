/// Why the byte stream could not be cut into frames. Each one ends the connection: after a bad
/// size prefix nothing that follows can be trusted to start a frame.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The size prefix is negative.
    case negativeSize(Int32)
    /// The size prefix exceeds the configured maximum; nothing was allocated for it.
    case oversize(size: Int, max: Int)
    /// The stream ended inside a frame.
    case truncated(expected: Int, received: Int)

    public var description: String {
        switch self {
        case .negativeSize(let size): "frame size prefix is negative (\(size))"
        case .oversize(let size, let max): "frame of \(size) bytes exceeds the limit of \(max) bytes"
        case .truncated(let expected, let received):
            "connection closed inside a frame: \(received) of \(expected) bytes received"
        }
    }
}
