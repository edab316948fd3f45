import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceRaft
import SluiceTLS
import SluiceWire
import Synchronization

enum RaftTransportError: Error, CustomStringConvertible {
    case closedByPeer
    var description: String { "the peer closed the connection" }
}

/// Why an outbound connection ended, as its watcher saw it first.
final class ConnectionEnd: Sendable {
    private let first = Mutex<(any Error)?>(nil)
    func record(_ error: any Error) { first.withLock { if $0 == nil { $0 = error } } }
    var error: (any Error)? { first.withLock { $0 } }
}

/// Sends Raft messages to peers: one outbound TCP connection per peer, opened lazily when the
/// first message for it is queued, re-opened with capped exponential backoff after a failure.
///
/// `send` never waits: it appends to the peer's bounded queue (`peerQueueMessagesMax`; when
/// full the oldest message is dropped and counted) and returns, so a dead peer can never stall
/// the driver. Messages sent while a peer is unreachable wait in its queue until it is back.
public final class RaftTransport: Service, Sendable {
    public struct Configuration: Sendable {
        /// Messages waiting for one peer. A leader sends at most `inflightAppendsMax` appends
        /// plus a heartbeat per tick to a peer, so 1024 covers seconds of a slow link.
        public var peerQueueMessagesMax: Int = 1024
        public var reconnectBackoffInitial: Duration = .milliseconds(20)
        public var reconnectBackoffMax: Duration = .seconds(1)
        public var connectTimeout: Duration = .seconds(1)
        /// Goes first in every outbound connection's pipeline (TLS).
        public var firstHandler: ChannelHandlerFactory?
        /// The local address connections to peers bind to; nil lets the kernel pick.
        public var source: SocketAddress?

        public init() {}
    }

    public let id: NodeID
    private let peers: [NodeID: HostPort]
    private let queues: [NodeID: RaftPeerQueue]
    private let configuration: Configuration
    private let logger: Logger
    private let group: any EventLoopGroup
    /// Messages addressed to a node that is not a configured peer.
    private let unroutable = Atomic<Int>(0)

    public init(id: NodeID, peers: [NodeID: HostPort], configuration: Configuration = Configuration(),
                logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.id = id
        self.peers = peers.filter { $0.key != id }
        self.queues = self.peers.mapValues { _ in RaftPeerQueue(capacity: configuration.peerQueueMessagesMax) }
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "node"] = "\(id)"
        self.logger = logger
        self.group = group
    }

    /// Queues messages for their peers and returns at once.
    public func send(_ messages: [RaftMessage]) {
        for m in messages {
            if let queue = queues[m.to] {
                queue.enqueue(m)
            } else {
                unroutable.add(1, ordering: .relaxed)
            }
        }
    }

    /// Messages dropped so far because a peer's queue was full (plus unroutable ones).
    public var droppedMessages: Int {
        queues.values.reduce(unroutable.load(ordering: .relaxed)) { $0 + $1.dropped }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for (peer, address) in peers.sorted(by: { $0.key < $1.key }) {
                let queue = queues[peer]!
                group.addTask { await self.runPeer(peer, address, queue) }
            }
            // Returns on graceful shutdown, throws on cancellation (which already reaches
            // the peer tasks); either way, finishing the queues ends every peer task.
            try? await gracefulShutdown()
            queues.values.forEach { $0.finish() }
        }
    }

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// One peer's sender: wait for work, connect, write everything queued, repeat; on any
    /// failure back off and try again while there is something to send.
    private func runPeer(_ peer: NodeID, _ address: HostPort, _ queue: RaftPeerQueue) async {
        var wakeUps = queue.wakeUps.makeAsyncIterator()
        var backoff = configuration.reconnectBackoffInitial
        var correlationID: Int32 = 0
        while true {
            // Lazy connect: only when there is something to send (after a failure, the
            // messages still queued are reason enough to retry).
            if queue.count == 0 {
                guard await wakeUps.next() != nil else { return }
            }
            if queue.isFinished { return }
            var pending: [RaftMessage] = []
            let ended = ConnectionEnd()
            do {
                let connection = try await connect(address)
                backoff = configuration.reconnectBackoffInitial
                logger.debug("connected to peer", metadata: ["peer": "\(peer)", "address": "\(address)"])
                try await connection.executeThenClose { inbound, outbound in
                    try await withThrowingTaskGroup(of: Void.self) { watcher in
                        // Peers send nothing on this connection, so its inbound stream only ends
                        // when the connection does, or throws why (a TLS handshake the peer
                        // refused). Without this watch a failed connection would be noticed
                        // only at the next write, and the reason never.
                        watcher.addTask {
                            do {
                                for try await _ in inbound {}
                                ended.record(RaftTransportError.closedByPeer)
                            } catch {
                                ended.record(error)
                            }
                            queue.nudge()
                        }
                        repeat {
                            if let error = ended.error { throw error }
                            pending = queue.drain()
                            for m in pending {
                                correlationID &+= 1
                                try await outbound.write(RaftWireCodec.encode(m, correlationID: correlationID))
                            }
                            pending = []
                        } while await wakeUps.next() != nil
                        watcher.cancelAll()
                    }
                }
                return  // the wake-up stream finished: shutting down
            } catch {
                // The watcher's reason (a TLSError) rather than the failed write it caused.
                let error = ended.error ?? error
                // The messages of the failed batch go back in front of newer ones; a write that
                // had already reached the socket may be sent twice, which Raft tolerates.
                queue.requeue(pending)
                // A TLS failure (peer certificate not trusted or not for its address) does not
                // heal by retrying, unlike a peer that is down: say so.
                logger.log(level: error is TLSError ? .warning : .debug, "peer unreachable",
                           metadata: ["peer": "\(peer)", "address": "\(address)", "error": "\(error)", "retryIn": "\(backoff)"])
                do { try await Task.sleep(for: backoff) } catch { return }
                backoff = min(backoff * 2, configuration.reconnectBackoffMax)
            }
        }
    }

    private func connect(_ address: HostPort) async throws -> Connection {
        let firstHandler = configuration.firstHandler
        let timeout = TimeAmount(configuration.connectTimeout)
        return try await ClientBootstrap(group: group)
            .binding(source: configuration.source)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let firstHandler {
                        try channel.pipeline.syncOperations.addHandler(firstHandler(channel, .outgoing(peer: address)))
                    }
                    // Peers answer with messages on their own connections; anything they send
                    // here is read and discarded by NIO's default inbound end of the pipeline.
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(KafkaFrameEncoder()))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }
}
