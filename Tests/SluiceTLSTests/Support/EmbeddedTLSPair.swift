import NIOCore
import NIOEmbedded
import SluiceTLS

/// Sits above a TLS handler and keeps what reaches the application: plaintext, errors, events.
final class PipelineRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var received = ByteBuffer()
    var errors: [any Error] = []
    var tlsErrors: [TLSError] { errors.compactMap { $0 as? TLSError } }
    var events: [TLSEvent] = []
    var becameInactive = false

    var sessionInfo: TLSSessionInfo? {
        events.lazy.compactMap { if case .handshakeCompleted(let info) = $0 { info } else { nil } }.first
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSEvent { events.append(event) }
    }

    func channelInactive(context: ChannelHandlerContext) { becameInactive = true }
}

/// A client and a server `EmbeddedChannel`, each with a TLS handler and a recorder, and a
/// `shuttle()` that carries ciphertext between them, optionally cut into awkward pieces so
/// records arrive split across reads.
final class EmbeddedTLSPair {
    let client: EmbeddedChannel
    let server: EmbeddedChannel
    let clientRecorder = PipelineRecorder()
    let serverRecorder = PipelineRecorder()

    init(client clientContext: TLSContext, server serverContext: TLSContext,
         serverName: String? = nil) throws {
        // One loop for both, so advancing time reaches both channels' scheduled tasks.
        let loop = EmbeddedEventLoop()
        client = EmbeddedChannel(loop: loop)
        server = EmbeddedChannel(loop: loop)
        let clientHandler = try TLSClientHandler(context: clientContext, serverName: serverName)
        try client.pipeline.syncOperations.addHandlers(clientHandler, clientRecorder)
        try server.pipeline.syncOperations.addHandlers(TLSServerHandler(context: serverContext), serverRecorder)
    }

    /// Connects both channels (the client starts its handshake) and carries bytes until quiet.
    func connect(pieceSizes: [Int]? = nil) throws {
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 9093)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        try shuttle(pieceSizes: pieceSizes)
    }

    var handshakeCompletedOnBothSides: Bool {
        clientRecorder.sessionInfo != nil && serverRecorder.sessionInfo != nil
    }

    /// Moves every outbound byte of each side into the other until neither has anything to
    /// send. `pieceSizes` (cycled) cuts the ciphertext into reads of those sizes.
    func shuttle(pieceSizes: [Int]? = nil) throws {
        var pieceIndex = 0
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(client, server), (server, client)] {
                while let bytes = try from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    var remaining = bytes
                    while remaining.readableBytes > 0, to.isActive {
                        let size = pieceSizes.map { $0[pieceIndex % $0.count] } ?? remaining.readableBytes
                        pieceIndex += 1
                        let piece = remaining.readSlice(length: min(size, remaining.readableBytes))!
                        try to.writeInbound(piece)
                    }
                }
            }
        }
    }

    /// Sends `bytes` from one side and returns what the other side's application received.
    func send(_ bytes: ByteBuffer, fromClient: Bool, pieceSizes: [Int]? = nil) throws -> ByteBuffer {
        let (sender, receiver) = fromClient ? (client, serverRecorder) : (server, clientRecorder)
        let written = sender.writeAndFlush(bytes)
        try shuttle(pieceSizes: pieceSizes)
        try written.wait()
        defer { receiver.received.clear() }
        return receiver.received
    }
}

/// `count` bytes of a pattern that does not repeat with any power-of-two period, so a lost,
/// duplicated or reordered record shows up as a mismatch. `seed` shifts where it starts.
func patternBytes(_ count: Int, seed: UInt8 = 0) -> ByteBuffer {
    precondition(count <= patternSource.count - 256)
    return ByteBuffer(bytes: patternSource[Int(seed)..<(Int(seed) + count)])
}

/// Made once: generating a megabyte byte by byte is slow in a debug build.
private let patternSource: [UInt8] = (0..<((1 << 20) + 256)).map { UInt8(truncatingIfNeeded: $0 % 251) }
