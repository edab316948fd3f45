import Logging
import Synchronization
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceTLS
import SluiceWire

/// Why the inter-node server closed a connection.
public enum InterNodeServerError: Error, Sendable, Equatable {
    /// A frame named an API key no subsystem registered.
    case unknownAPIKey(Int16)
}

/// The inter-node listener (DESIGN §2, default port 9093): accepts peers' connections, cuts
/// the byte stream into Kafka-format frames, and hands each frame to the handler registered
/// for its API key. Frames on one connection are handled one at a time, in order, which is
/// what Raft wants from a peer's stream, except for keys registered `concurrent` (replica
/// fetches), which run beside the rest, at most `concurrentRequestsMax` of them per
/// connection, and are answered as each finishes.
///
/// A frame that is oversize, has a malformed header, names an unknown key, or that its handler
/// rejects ends that connection only (logged); the server keeps serving every other one.
///
/// Lifecycle: `bind` opens the socket (so tests can bind port 0 and read `port` before anyone
/// connects); `run` accepts until cancelled or graceful shutdown, then closes every connection.
public final class InterNodeServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 asks the kernel for a free port; read the result from `InterNodeServer.port`.
        public var port: Int
        /// The largest frame accepted; a bigger size prefix closes the connection before any of
        /// its payload is buffered. Raft appends are bounded by `RaftOptions` (64 entries of at
        /// most 1 MiB), snapshots by the metadata image size.
        public var frameBytesMax: Int
        /// Goes first in every accepted connection's pipeline (TLS).
        public var firstHandler: ChannelHandlerFactory?
        /// Counts connections, bytes and TLS handshakes (`/metrics`); nil counts nothing.
        public var metrics: NodeMetrics?

        public init(host: String = "127.0.0.1", port: Int = 9093, frameBytesMax: Int = Limits.frameBytesMax,
                    firstHandler: ChannelHandlerFactory? = nil) {
            self.host = host
            self.port = port
            self.frameBytesMax = frameBytesMax
            self.firstHandler = firstHandler
        }
    }

    typealias AsyncConnection = NIOAsyncChannel<ByteBuffer, ByteBuffer>
    /// An accepted connection and who the TLS handshake says its peer is.
    struct Connection: Sendable {
        var channel: AsyncConnection
        var peer: PeerIdentity
    }

    /// Concurrent frames (replica fetches) in hand per connection; the next waits.
    static let concurrentRequestsMax = 32

    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let registry: InterNodeHandlerRegistry
    private let logger: Logger
    /// The port actually bound (the configured one, or the kernel's choice for 0).
    public let port: Int

    private init(serverChannel: NIOAsyncChannel<Connection, Never>, registry: InterNodeHandlerRegistry,
                 logger: Logger) {
        self.serverChannel = serverChannel
        self.registry = registry
        self.logger = logger
        self.port = serverChannel.channel.localAddress?.port ?? -1
    }

    /// Opens the listening socket. Nothing is accepted until `run`.
    public static func bind(
        _ configuration: Configuration, registry: InterNodeHandlerRegistry, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> InterNodeServer {
        let frameBytesMax = configuration.frameBytesMax
        let firstHandler = configuration.firstHandler
        let metrics = configuration.metrics
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            // A restarted node must get its port back at once, despite TIME_WAIT sockets.
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let peer = PeerIdentity(isTLS: firstHandler != nil)
                    if let metrics {
                        try channel.pipeline.syncOperations.addHandler(ConnectionMetricsHandler(metrics: metrics, listener: .interNode))
                    }
                    if let firstHandler {
                        try channel.pipeline.syncOperations.addHandler(firstHandler(channel, .accepted))
                        if let metrics {
                            try channel.pipeline.syncOperations.addHandler(TLSHandshakeCounter(metrics: metrics, listener: .interNode))
                        }
                        try channel.pipeline.syncOperations.addHandler(PeerIdentity.Recorder(peer))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(frameBytesMax: frameBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(KafkaFrameEncoder()))
                    return Connection(channel: try AsyncConnection(wrappingChannelSynchronously: channel), peer: peer)
                }
            }
        var logger = logger
        logger[metadataKey: "listener"] = "inter-node"
        let server = InterNodeServer(serverChannel: channel, registry: registry, logger: logger)
        logger.info("inter-node listener bound", metadata: ["address": "\(configuration.host):\(server.port)"])
        return server
    }

    /// Stops accepting: `run` hands out the connections already accepted, then returns. This,
    /// not cancelling `run`, is how to stop the server: NIO traps on a connection accepted after
    /// a cancelled accept loop stopped taking them.
    public func close() {
        serverChannel.channel.close(promise: nil)
    }

    public func run() async throws {
        let listener = serverChannel.channel
        // If `run` is cancelled anyway (a failing service group), close the listener at once so
        // that as few connections as possible are accepted into a loop that has stopped.
        try await withTaskCancellationHandler {
            try await acceptLoop(listener)
        } onCancel: {
            listener.close(promise: nil)
        }
    }

    private func acceptLoop(_ listener: any Channel) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await withGracefulShutdownHandler {
                // The loop ends when the listening channel closes (graceful shutdown, below).
                // Every connection accepted before that is still handed out here and closed by
                // its task. Ending the iteration any other way (cancelOnGracefulShutdown) drops
                // connections still buffered in the stream without closing them, and NIO traps
                // on an unfinished writer: the test suite crashed on exactly that.
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            } onGracefulShutdown: {
                listener.close(promise: nil)
            }
            // Stop serving open connections too: peers reconnect to whoever listens next.
            group.cancelAll()
        }
    }

    private func serve(_ connection: Connection) async {
        let remote = connection.channel.channel.remoteAddress.map { "\($0)" } ?? "?"
        let peer = connection.peer
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                // One writer; in-order handlers and concurrent ones both hand it their answers.
                let (answers, answer) = AsyncStream.makeStream(of: ByteBuffer.self)
                try await withThrowingTaskGroup(of: Void.self) { writer in
                    writer.addTask {
                        for await response in answers { try await outbound.write(response) }
                    }
                    defer { answer.finish() }
                    try await withThrowingTaskGroup(of: Void.self) { handlers in
                        var inFlight = 0
                        for try await frame in inbound.cancelOnGracefulShutdown() {
                            var body = frame
                            let header = try RequestHeader(from: &body, version: 1)
                            guard let handler = registry.handler(for: header.apiKey) else {
                                throw InterNodeServerError.unknownAPIKey(header.apiKey)
                            }
                            let request = InterNodeRequest(header: header, body: body, remote: remote, isTLS: peer.isTLS,
                                                           peerSubject: peer.subject)
                            guard registry.isConcurrent(header.apiKey) else {
                                if let response = try await handler(request) { answer.yield(response) }
                                continue
                            }
                            if inFlight >= Self.concurrentRequestsMax {
                                try await handlers.next()
                                inFlight -= 1
                            }
                            inFlight += 1
                            handlers.addTask {
                                if let response = try await handler(request) { answer.yield(response) }
                            }
                        }
                        try await handlers.waitForAll()
                    }
                    answer.finish()
                    try await writer.waitForAll()
                }
            }
        } catch is CancellationError {
            return
        } catch let error as TLSError {
            logger.connectionFailed(error, peer: remote, listener: "inter-node")
        } catch {
            logger.warning("closing inter-node connection", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
    }
}

/// Who is at the other end of an accepted inter-node connection: the subject of the
/// certificate the TLS handshake verified (nil over plaintext, or before the handshake, which
/// completes before any frame is decoded).
final class PeerIdentity: Sendable {
    let isTLS: Bool
    private let recorded = Mutex<String?>(nil)

    init(isTLS: Bool) { self.isTLS = isTLS }

    var subject: String? { recorded.withLock { $0 } }

    /// Catches the TLS handler's handshake event.
    final class Recorder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let identity: PeerIdentity
        init(_ identity: PeerIdentity) { self.identity = identity }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted(let info)? = event as? TLSEvent {
                identity.recorded.withLock { $0 = info.peerSubject }
            }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
