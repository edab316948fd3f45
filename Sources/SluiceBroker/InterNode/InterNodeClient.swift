import NIOCore
import NIOPosix
import SluiceCore
import SluiceTLS
import SluiceWire

/// Request/response calls to another node's inter-node listener (broker heartbeats and
/// controller forwarding). One short connection per call: these calls are rare (a heartbeat a
/// second, an admin request now and then), and a fresh connection never carries a stale
/// half-read response after a timeout.
struct InterNodeClient: Sendable {
    let group: any EventLoopGroup
    let frameBytesMax: Int
    /// Longest a call may take, connection included.
    let timeout: Duration
    let clientID: String
    /// Mutual TLS to the peer (verified against the host of its address); nil: plaintext.
    var tls: TLSContext? = nil
    /// The local address calls bind to; nil lets the kernel pick.
    var source: SocketAddress? = nil

    enum CallError: Error, CustomStringConvertible {
        case timedOut(HostPort)
        case closed(HostPort)
        case malformed(String)
        var description: String {
            switch self {
            case .timedOut(let a): "no answer from \(a) in time"
            case .closed(let a): "\(a) closed the connection without answering"
            case .malformed(let s): "malformed answer: \(s)"
            }
        }
    }

    func call<Request: APIRequest>(_ request: Request, to address: HostPort) async throws -> Request.Response {
        try await withThrowingTaskGroup(of: Request.Response.self) { group in
            group.addTask { try await exchange(request, address) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw CallError.timedOut(address)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func exchange<Request: APIRequest>(_ request: Request, _ address: HostPort) async throws -> Request.Response {
        let frameBytesMax = self.frameBytesMax
        let tls = self.tls
        let channel = try await ClientBootstrap(group: group)
            .binding(source: source)
            .connectTimeout(.seconds(2))
            .connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls, serverName: address.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(frameBytesMax: frameBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(KafkaFrameEncoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var frame = ByteBufferAllocator().buffer(capacity: 128)
            // The newest version this build knows (there is no older release to negotiate with yet).
            let version = Request.versions.upperBound
            RequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationID: 1, clientID: clientID).encode(into: &frame, version: 1)
            request.encode(into: &frame, version: version)
            try await outbound.write(frame)
            for try await var answer in inbound {
                do {
                    _ = try ResponseHeader(from: &answer, version: 0)
                    return try Request.Response(from: &answer, version: version)
                } catch {
                    throw CallError.malformed("\(error)")
                }
            }
            throw CallError.closed(address)
        }
    }
}
