import Logging
import NIOCore
import NIOPosix
import SluiceBroker
import SluiceCore
import SluiceRaft
import SluiceWire
import Synchronization
import Testing

@Suite("Inter-node server", .timeLimit(.minutes(1)))
struct RaftInterNodeServerTests {
    /// Collects the Raft messages the server dispatches.
    final class Inbox: Sendable {
        let messages = Mutex<[RaftMessage]>([])
    }

    func startServer(_ inbox: Inbox, frameBytesMax: Int = 1 << 20) async throws -> (InterNodeServer, Task<Void, any Error>) {
        var registry = InterNodeHandlerRegistry()
        registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
            let m = try RaftWireCodec.decode(header: request.header, body: request.body)
            inbox.messages.withLock { $0.append(m) }
            return nil
        }
        let server = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: 0, frameBytesMax: frameBytesMax),
                                                    registry: registry, logger: testLogger)
        return (server, Task { try await server.run() })
    }

    /// A raw client connection: write bytes, and learn whether the server closed it.
    func connect(_ port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    func framed(_ payload: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeInteger(Int32(payload.readableBytes))
        var p = payload
        out.writeBuffer(&p)
        return out
    }

    /// Reads until the server closes the connection; fails the test if it does not within 5 s.
    func expectClosedByServer(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, after bytes: ByteBuffer) async throws {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(bytes)
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    do { for try await _ in inbound {} } catch {}
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(5))
                    return false
                }
                let closed = try await group.next()!
                group.cancelAll()
                #expect(closed, "the server kept a connection that sent garbage")
            }
        }
    }

    @Test("binding port 0 reports the kernel's port, and a Raft frame reaches the registered handler")
    func dispatchesByAPIKey() async throws {
        let inbox = Inbox()
        let (server, _) = try await startServer(inbox)
        defer { server.close() }
        #expect(server.port > 0)
        let message = RaftMessage(from: 2, to: 1, term: 4, body: .heartbeat(leaderCommit: 3))
        let client = try await connect(server.port)
        try await client.executeThenClose { _, outbound in
            try await outbound.write(framed(RaftWireCodec.encode(message, correlationID: 1)))
            try await waitUntil(timeout: .seconds(30), "the message") { inbox.messages.withLock { !$0.isEmpty } }
        }
        #expect(inbox.messages.withLock { $0 } == [message])
    }

    @Test("garbage, an unknown API key or an oversize frame closes that connection and the server keeps serving",
          arguments: ["garbage", "unknown key", "oversize", "negative size"])
    func rejectsBadFramesAndKeepsServing(_ kind: String) async throws {
        let inbox = Inbox()
        let (server, _) = try await startServer(inbox, frameBytesMax: 4096)
        defer { server.close() }
        let bad = try await connect(server.port)
        var bytes = ByteBuffer()
        switch kind {
        case "garbage": bytes = framed(ByteBuffer(bytes: [0x27, 0x14, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]))
        case "unknown key":
            var p = ByteBuffer()
            RequestHeader(apiKey: 9999, apiVersion: 0, correlationID: 1, clientID: "2").encode(into: &p, version: 1)
            bytes = framed(p)
        case "oversize": bytes.writeInteger(Int32(4097))
        default: bytes.writeInteger(Int32(-1))
        }
        try await expectClosedByServer(bad, after: bytes)

        let message = RaftMessage(from: 3, to: 1, term: 1, body: .timeoutNow)
        let good = try await connect(server.port)
        try await good.executeThenClose { _, outbound in
            try await outbound.write(framed(RaftWireCodec.encode(message, correlationID: 2)))
            try await waitUntil(timeout: .seconds(30), "the message") { inbox.messages.withLock { !$0.isEmpty } }
        }
        #expect(inbox.messages.withLock { $0 } == [message])
    }

    /// Stand in for the TLS handler: count the bytes that pass, inbound on the server and
    /// outbound on the client, and pass them on.
    final class CountingServerHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let counters: Counters
        init(_ counters: Counters) { self.counters = counters }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            counters.server.add(unwrapInboundIn(data).readableBytes, ordering: .relaxed)
            context.fireChannelRead(data)
        }
    }

    final class CountingClientHandler: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let counters: Counters
        init(_ counters: Counters) { self.counters = counters }
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            counters.client.add(unwrapOutboundIn(data).readableBytes, ordering: .relaxed)
            context.write(data, promise: promise)
        }
    }

    final class Counters: Sendable {
        let server = Atomic<Int>(0)
        let client = Atomic<Int>(0)
    }

    @Test("the first-handler hook (for TLS) sits in front of the frame codecs on both ends")
    func firstHandlerHookSeesEveryByte() async throws {
        let counters = Counters()
        let inbox = Inbox()
        var registry = InterNodeHandlerRegistry()
        registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
            let m = try RaftWireCodec.decode(header: request.header, body: request.body)
            inbox.messages.withLock { $0.append(m) }
            return nil
        }
        let server = try await InterNodeServer.bind(
            .init(host: "127.0.0.1", port: 0, firstHandler: { channel, side in
                #expect(side == .accepted)
                return CountingServerHandler(counters)
            }), registry: registry, logger: testLogger)
        _ = Task { try await server.run() }
        defer { server.close() }
        var configuration = RaftTransport.Configuration()
        let peer = HostPort(host: "127.0.0.1", port: server.port)
        configuration.firstHandler = { _, side in
            #expect(side == .outgoing(peer: peer))
            return CountingClientHandler(counters)
        }
        let transport = RaftTransport(id: 2, peers: [1: HostPort(host: "127.0.0.1", port: server.port)],
                                      configuration: configuration, logger: testLogger)
        let transportTask = Task { try await transport.run() }
        defer { transportTask.cancel() }
        let message = RaftMessage(from: 2, to: 1, term: 3, body: .voteResponse(granted: true))
        transport.send([message])
        try await waitUntil(timeout: .seconds(30), "the message") { inbox.messages.withLock { !$0.isEmpty } }
        let size = RaftWireCodec.encode(message, correlationID: 1).readableBytes + 4
        #expect(counters.client.load(ordering: .relaxed) == size)
        #expect(counters.server.load(ordering: .relaxed) == size)
    }

    @Test("the transport delivers in order to a peer that starts listening late, and counts messages it drops when a peer's queue overflows")
    func transportReconnectsAndBoundsItsQueue() async throws {
        let inbox = Inbox()
        // Find a free port, then close it so the first connects fail.
        let (probe, probeTask) = try await startServer(inbox)
        let port = probe.port
        probe.close()
        _ = try? await probeTask.value

        var configuration = RaftTransport.Configuration()
        configuration.peerQueueMessagesMax = 8
        let transport = RaftTransport(id: 1, peers: [2: HostPort(host: "127.0.0.1", port: port)],
                                      configuration: configuration, logger: testLogger)
        let transportTask = Task { try await transport.run() }
        defer { transportTask.cancel() }
        let messages = (1...12).map { RaftMessage(from: 1, to: 2, term: RaftTerm(UInt64($0)), body: .heartbeatResponse) }
        transport.send(messages)
        #expect(transport.droppedMessages == 4)
        transport.send([RaftMessage(from: 1, to: 7, term: 1, body: .timeoutNow)])  // no such peer
        #expect(transport.droppedMessages == 5)

        try await Task.sleep(for: .milliseconds(100))  // a few failed connects and backoffs
        var registry = InterNodeHandlerRegistry()
        registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
            let m = try RaftWireCodec.decode(header: request.header, body: request.body)
            inbox.messages.withLock { $0.append(m) }
            return nil
        }
        let server = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: port), registry: registry,
                                                    logger: testLogger)
        _ = Task { try await server.run() }
        defer { server.close() }
        try await waitUntil(timeout: .seconds(30), "8 messages") { inbox.messages.withLock { $0.count == 8 } }
        #expect(inbox.messages.withLock { $0 } == Array(messages.suffix(8)))
    }
}
