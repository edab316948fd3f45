import NIOCore
import SluiceWire

/// One frame received on the inter-node listener: its parsed header and the undecoded body.
/// Handlers decode the body with the message type their API key names.
public struct InterNodeRequest: Sendable {
    public var header: RequestHeader
    /// The bytes after the header; a handler must consume all of them or call it malformed.
    public var body: ByteBuffer
    /// The peer's address as the socket reports it, for logs.
    public var remote: String

    public init(header: RequestHeader, body: ByteBuffer, remote: String) {
        self.header = header
        self.body = body
        self.remote = remote
    }
}

/// Serves one internal API. Returns a response payload to write back on the same connection
/// (header included: the handler owns its response format), or nil for a one-way message.
/// Throwing marks the frame malformed: the server logs it and closes the connection.
public typealias InterNodeHandler = @Sendable (InterNodeRequest) async throws -> ByteBuffer?
