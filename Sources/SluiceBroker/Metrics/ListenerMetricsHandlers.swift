import NIOCore
import SluiceTLS

/// First in a listener's pipeline: counts the bytes that cross the socket and the connection
/// itself (`sluice_connections_open`, `sluice_connections_accepted_total`) from its activation
/// to its end.
final class ConnectionMetricsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: NodeMetrics
    private let listener: NodeMetrics.Listener
    /// Invariant: true from channelActive to channelInactive, so a connection counts once.
    private var open = false

    init(metrics: NodeMetrics, listener: NodeMetrics.Listener) {
        self.metrics = metrics
        self.listener = listener
    }

    func channelActive(context: ChannelHandlerContext) {
        if !open {
            open = true
            metrics.connectionOpened(listener)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if open {
            open = false
            metrics.connectionClosed(listener)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        metrics.received(bytes: unwrapInboundIn(data).readableBytes, on: listener)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        metrics.sent(bytes: unwrapOutboundIn(data).readableBytes, on: listener)
        context.write(data, promise: promise)
    }
}

/// Right behind a TLS handler: counts each connection's handshake once, as completed
/// (`TLSEvent.handshakeCompleted`) or failed (an error, or the connection closing, before it).
final class TLSHandshakeCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let metrics: NodeMetrics
    private let listener: NodeMetrics.Listener
    /// Invariant: set once, when the handshake's outcome is counted.
    private var counted = false

    init(metrics: NodeMetrics, listener: NodeMetrics.Listener) {
        self.metrics = metrics
        self.listener = listener
    }

    private func count(succeeded: Bool) {
        guard !counted else { return }
        counted = true
        metrics.tlsHandshake(on: listener, succeeded: succeeded)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSEvent { count(succeeded: true) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        count(succeeded: false)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        count(succeeded: false)
        context.fireChannelInactive()
    }
}
