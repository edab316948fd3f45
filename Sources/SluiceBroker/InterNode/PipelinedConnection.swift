import Synchronization
import NIOCore
import NIOPosix
import SluiceCore
import SluiceTLS
import SluiceWire

/// One persistent request/response connection to a peer's inter-node listener, with any number
/// of requests in flight: each request gets a correlation id and its answer is matched by it,
/// so answers may come back in any order (the listener serves replica fetches concurrently).
/// A replica fetcher keeps one to its leader for all the partitions it follows there.
///
/// A failed connection fails every call in flight and every later one; the owner opens a new
/// connection (with its backoff).
final class PipelinedConnection: Sendable {
    enum CallError: Error, CustomStringConvertible {
        case closed(HostPort)
        case timedOut(HostPort)
        case malformed(String)
        var description: String {
            switch self {
            case .closed(let a): "the connection to \(a) closed"
            case .timedOut(let a): "no answer from \(a) in time"
            case .malformed(let s): "malformed answer: \(s)"
            }
        }
    }

    let address: HostPort
    private let channel: any Channel
    private let clientID: String
    private let correlation = Mutex<Int32>(0)

    private init(address: HostPort, channel: any Channel, clientID: String) {
        self.address = address
        self.channel = channel
        self.clientID = clientID
    }

    static func connect(to address: HostPort, group: any EventLoopGroup, frameBytesMax: Int, tls: TLSContext?,
                        clientID: String, source: SocketAddress? = nil) async throws -> PipelinedConnection {
        let channel = try await ClientBootstrap(group: group)
            .binding(source: source)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls, serverName: address.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(frameBytesMax: frameBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(KafkaFrameEncoder()))
                    try channel.pipeline.syncOperations.addHandler(CorrelationHandler(address: address))
                }
            }
            .connect(host: address.host, port: address.port).get()
        return PipelinedConnection(address: address, channel: channel, clientID: clientID)
    }

    var isActive: Bool { channel.isActive }

    func close() {
        channel.close(promise: nil)
    }

    /// Sends `request` at `version` and waits for its answer, at most `timeout`. A timeout
    /// closes the connection: a late answer would otherwise arrive on a connection whose
    /// owner has moved on.
    func call<Request: APIRequest>(_ request: Request, version: Int16, timeout: Duration) async throws -> Request.Response {
        let id = correlation.withLock { value -> Int32 in
            value = value == .max ? 1 : value + 1
            return value
        }
        var frame = channel.allocator.buffer(capacity: 256)
        RequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationID: id, clientID: clientID).encode(into: &frame, version: 1)
        request.encode(into: &frame, version: version)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush(Outgoing(correlationID: id, frame: frame, answer: promise), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [channel, address] in
            promise.fail(CallError.timedOut(address))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        var answer = try await promise.futureResult.get()
        do {
            // Fetch v11 and OffsetForLeaderEpoch v3 predate flexible versions: header v0.
            _ = try ResponseHeader(from: &answer, version: 0)
            return try Request.Response(from: &answer, version: version)
        } catch {
            throw CallError.malformed("\(error)")
        }
    }

    struct Outgoing {
        var correlationID: Int32
        var frame: ByteBuffer
        var answer: EventLoopPromise<ByteBuffer>
    }

    /// Keeps the promise of every request in flight by correlation id; an answer resolves its
    /// own, and a closed or failed connection fails them all.
    private final class CorrelationHandler: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = Outgoing
        typealias OutboundOut = ByteBuffer

        let address: HostPort
        private var pending: [Int32: EventLoopPromise<ByteBuffer>] = [:]
        private var closed = false

        init(address: HostPort) { self.address = address }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let outgoing = unwrapOutboundIn(data)
            guard !closed else {
                outgoing.answer.fail(CallError.closed(address))
                promise?.fail(CallError.closed(address))
                return
            }
            pending[outgoing.correlationID] = outgoing.answer
            context.write(wrapOutboundOut(outgoing.frame), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard let id = frame.getInteger(at: frame.readerIndex, as: Int32.self), let promise = pending.removeValue(forKey: id) else {
                // An answer nobody waits for (its call timed out): the stream is out of step.
                failAll(context: context, CallError.malformed("an answer with an unknown correlation id"))
                context.close(promise: nil)
                return
            }
            promise.succeed(frame)
        }

        func channelInactive(context: ChannelHandlerContext) {
            failAll(context: context, CallError.closed(address))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            failAll(context: context, error)
            context.close(promise: nil)
        }

        private func failAll(context: ChannelHandlerContext, _ error: any Error) {
            closed = true
            let promises = pending.values
            pending.removeAll()
            for promise in promises { promise.fail(error) }
        }
    }
}
