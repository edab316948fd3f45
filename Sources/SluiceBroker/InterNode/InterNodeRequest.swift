import NIOCore
import SluiceCore
import SluiceWire

/// One frame received on the inter-node listener: its parsed header and the undecoded body.
/// Handlers decode the body with the message type their API key names.
public struct InterNodeRequest: Sendable {
    public var header: RequestHeader
    /// The bytes after the header; a handler must consume all of them or call it malformed.
    public var body: ByteBuffer
    /// The peer's address as the socket reports it, for logs.
    public var remote: String
    /// Whether the connection is TLS (the listener's `[tls]`): then `peerSubject` is the
    /// verified certificate's subject (RFC 2253), which the node's identity must match.
    public var isTLS: Bool
    public var peerSubject: String?

    public init(header: RequestHeader, body: ByteBuffer, remote: String, isTLS: Bool = false, peerSubject: String? = nil) {
        self.header = header
        self.body = body
        self.remote = remote
        self.isTLS = isTLS
        self.peerSubject = peerSubject
    }

    /// May this connection act for `node` (send replica fetches as it)? Over plaintext the
    /// inter-node network is trusted as a whole; over mutual TLS only the node's own
    /// certificate, `CN=node<N>`, may: a client certificate of the same CA may not.
    public func peerMayActAs(node: NodeID) -> Bool {
        guard isTLS else { return true }
        guard let subject = peerSubject else { return false }
        return subject.split(separator: ",").contains { $0.trimmingPrefix(" ") == "CN=node\(node.rawValue)" }
    }
}

/// Serves one internal API. Returns a response payload to write back on the same connection
/// (header included: the handler owns its response format), or nil for a one-way message.
/// Throwing marks the frame malformed: the server logs it and closes the connection.
public typealias InterNodeHandler = @Sendable (InterNodeRequest) async throws -> ByteBuffer?
