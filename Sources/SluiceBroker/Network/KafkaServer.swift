import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceTLS
import SluiceWire
import Synchronization

/// The client listener: Kafka frames over TCP. Each connection is one child task that reads a
/// request, answers it, and only then reads the next, so responses leave in request order
/// (the protocol requires it) and one connection holds at most one request in the broker.
/// NIOAsyncChannel's back-pressure bounds what waits in its buffer. There is deliberately no
/// request or idle timeout: a JoinGroup is held open until its rebalance completes (up to the
/// group's rebalance timeout), and clients time their own requests.
public struct KafkaServer: Service {
    let address: HostPort
    let dispatcher: RequestDispatcher
    let group: any EventLoopGroup
    let frameBytesMax: Int
    let connectionsMax: Int
    let logger: Logger
    /// TLS for every accepted connection; nil serves plaintext.
    let tls: TLSContext?
    /// Told the bound address once listening (port 0 picks a free port, for tests).
    let onBound: @Sendable (SocketAddress) -> Void
    /// The listener opens only once this says the node is ready (`ReadinessProbe`), as a Kafka
    /// broker enables its request processing only once unfenced and caught up: a restarted
    /// node's replayed metadata is stale (it may still name this node leader of partitions
    /// that moved), and a client answered from it is misled (UNKNOWN_TOPIC_OR_PARTITION, or a
    /// produce to a stale leader whose error makes an idempotent producer reset its
    /// sequences). Until then clients are refused at connect and try the other nodes.
    var openWhen: (@Sendable () -> Bool)? = nil
    /// Counts connections, bytes and TLS handshakes on this listener (`/metrics`); nil counts nothing.
    var metrics: NodeMetrics? = nil

    init(address: HostPort, dispatcher: RequestDispatcher, group: any EventLoopGroup, frameBytesMax: Int,
         connectionsMax: Int, logger: Logger, tls: TLSContext? = nil, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.address = address
        self.dispatcher = dispatcher
        self.group = group
        self.frameBytesMax = frameBytesMax
        self.connectionsMax = connectionsMax
        self.logger = logger
        self.tls = tls
        self.onBound = onBound
    }

    public func run() async throws {
        if let openWhen, !openWhen() {
            logger.info("the client listener \(address) opens once this node is ready")
            while !openWhen() {
                if Task.isCancelledOrShuttingDownGracefully { return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let frameBytesMax = self.frameBytesMax
        let tls = self.tls
        let metrics = self.metrics
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Graceful shutdown closes a connection's input only (below). Without half-closure, a
            // read that NIO had already scheduled then sees EOF and closes the whole channel,
            // dropping the answer to the request in hand (seen with a JoinGroup answered
            // NOT_COORDINATOR at shutdown). A client's own FIN still ends the connection: the
            // inbound stream finishes, and executeThenClose closes it.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let metrics { try channel.pipeline.syncOperations.addHandler(ConnectionMetricsHandler(metrics: metrics, listener: .client)) }
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(TLSServerHandler(context: tls))
                        if let metrics { try channel.pipeline.syncOperations.addHandler(TLSHandshakeCounter(metrics: metrics, listener: .client)) }
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(frameBytesMax: frameBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(KafkaFrameEncoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        if let bound = server.channel.localAddress { onBound(bound) }
        logger.info("serving Kafka clients on \(server.channel.localAddress.map { "\($0)" } ?? "\(address)")\(tls == nil ? "" : " (TLS, client certificates: \(tls!.configuration.clientAuthentication.rawValue))")")
        let open = ConnectionCounter()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        if open.increment() > connectionsMax {
                            open.decrement()
                            logger.warning("refused a connection from \(connection.channel.remoteAddress.map { "\($0)" } ?? "?"): \(connectionsMax) are open")
                            // executeThenClose finishes the channel's writer, as NIO requires.
                            try? await connection.executeThenClose { _, _ in }
                            continue
                        }
                        tasks.addTask {
                            await serve(connection)
                            open.decrement()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; connections finish the request in hand and close (below).
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "?"
        let clientHost = "/" + (connection.channel.remoteAddress?.ipAddress ?? "unknown")
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(peer)"
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withGracefulShutdownHandler {
                    for try await frame in inbound {
                        switch await dispatcher.dispatch(frame: frame, logger: logger, clientHost: clientHost) {
                        case .respond(let bytes): try await outbound.write(bytes)
                        case .noResponse: continue
                        case .close(let reason):
                            logger.warning("closing connection: \(reason)")
                            return
                        }
                    }
                } onGracefulShutdown: {
                    // Reading ends; the request being handled is still answered.
                    connection.channel.close(mode: .input, promise: nil)
                }
            }
        } catch let error as FrameError {
            logger.warning("closing connection: \(error)")
        } catch {
            logger.connectionFailed(error, peer: peer, listener: "client")
        }
    }
}

/// Open client connections, shared by the accept loop and the connection tasks.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Returns the new count.
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
    func decrement() { count.subtract(1, ordering: .relaxed) }
}
