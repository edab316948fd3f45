import NIOCore

/// TLS on a channel: plaintext `ByteBuffer`s above, ciphertext below. Use
/// ``TLSServerHandler`` on accepted channels and ``TLSClientHandler`` on outgoing ones; this
/// base holds what they share. It performs the actions ``TLSStateMachine`` decides and moves
/// bytes through ``OpenSSLConnection``.
///
/// - Writes are encrypted as they are written and passed down at once; flushes pass through.
///   Nothing is held after the handshake, so the channel's writability is the back-pressure.
///   Writes made before the handshake finishes are held (up to
///   ``TLSConfiguration/pendingPlaintextBytesMax``) and replayed, flushes included, in order.
/// - Failures are fired as ``TLSError`` through `errorCaught`, after any alert OpenSSL made
///   is sent to the peer, and the channel is closed.
/// - `close` sends `close_notify` and waits (up to ``TLSConfiguration/closeNotifyWaitMax``)
///   for the peer's before closing the socket.
/// - ``TLSEvent/handshakeCompleted(_:)`` is fired as a user inbound event.
public class TLSHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// The largest plaintext buffer passed up in one `channelRead`.
    static let plaintextChunkBytesMax = 64 * 1024
    /// Large writes are encrypted this much plaintext at a time, each piece into its own
    /// ciphertext buffer (four full records). Buffers this size come from malloc's heap; a
    /// megabyte-sized one per write would be mmapped and page-faulted in every time.
    static let encryptPieceBytesMax = 64 * 1024

    private var stateMachine: TLSStateMachine
    private let connection: OpenSSLConnection
    private let closeNotifyWaitMax: Duration
    private var closeNotifyWait: Scheduled<Void>?

    init(context: TLSContext, role: TLSConfiguration.Role, serverName: String?) throws(TLSError) {
        precondition(context.configuration.role == role,
                     "a \(role.rawValue) handler needs a \(role.rawValue) TLSContext")
        self.connection = try OpenSSLConnection(context: context.handle, role: role, serverName: serverName)
        self.stateMachine = TLSStateMachine(
            role: role, pendingPlaintextBytesMax: context.configuration.pendingPlaintextBytesMax)
        self.closeNotifyWaitMax = context.configuration.closeNotifyWaitMax
    }

    // MARK: channel up and down

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { channelBecameActive(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        channelBecameActive(context: context)
        context.fireChannelActive()
    }

    private func channelBecameActive(context: ChannelHandlerContext) {
        switch stateMachine.channelActive() {
        case .startHandshake: continueHandshake(context: context)
        case .awaitClientHello, .none: break
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closeNotifyWait?.cancel()
        switch stateMachine.channelInactive() {
        case .reportUncleanShutdown:
            context.fireErrorCaught(TLSError.uncleanShutdown)
        case .reportHandshakeCut(let writes):
            let error = TLSError.handshakeFailed(openSSL: "the connection closed during the handshake")
            fail(writes, with: error)
            context.fireErrorCaught(error)
        case .completeClose(let promise):
            promise?.succeed()
        case .none:
            break
        }
        context.fireChannelInactive()
    }

    // MARK: inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch stateMachine.channelRead(ciphertext) {
        case .continueHandshake:
            connection.feed(ciphertext)
            continueHandshake(context: context)
        case .decrypt:
            connection.feed(ciphertext)
            decrypt(context: context)
        case .rejectNotTLS(let firstBytes):
            // Closed without an alert: the peer does not speak TLS and would not understand one.
            context.fireErrorCaught(TLSError.notTLS(firstBytes: firstBytes))
            context.close(promise: nil)
        case .drop:
            break
        }
    }

    private func continueHandshake(context: ChannelHandlerContext) {
        let result = connection.handshake()
        sendCiphertext(context: context, flush: true)
        switch result {
        case .needsMoreData:
            requestReadIfNotAutomatic(context: context)
        case .failed(let error):
            fail(context: context, error)
        case .complete:
            let writes = stateMachine.handshakeCompleted()
            context.fireUserInboundEventTriggered(TLSEvent.handshakeCompleted(connection.sessionInfo))
            replay(writes, context: context)
            // Application data may have arrived right behind the peer's Finished.
            decrypt(context: context)
        }
    }

    /// During the handshake the handler needs reads even if the application has turned
    /// auto-read off and not asked for any yet.
    private func requestReadIfNotAutomatic(context: ChannelHandlerContext) {
        if let options = context.channel.syncOptions, (try? options.getOption(.autoRead)) == false {
            context.read()
        }
    }

    private func decrypt(context: ChannelHandlerContext) {
        let result = connection.readPlaintext(
            allocator: context.channel.allocator, chunkBytesMax: Self.plaintextChunkBytesMax
        ) { plaintext in
            context.fireChannelRead(wrapInboundOut(plaintext))
        }
        // Reading can make OpenSSL answer (a TLS 1.3 key update); send that on.
        sendCiphertext(context: context, flush: true)
        switch result {
        case .needsMoreData:
            break
        case .closeNotifyReceived:
            peerSentCloseNotify(context: context)
        case .failed(let error):
            fail(context: context, error)
        }
    }

    private func peerSentCloseNotify(context: ChannelHandlerContext) {
        switch stateMachine.closeNotifyReceived() {
        case .replyAndClose:
            connection.shutdown()
            sendCiphertext(context: context, flush: true)
            context.close(promise: nil)
        case .close(let promise):
            closeNotifyWait?.cancel()
            context.close(promise: promise)
        case .none:
            break
        }
    }

    // MARK: outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        switch stateMachine.write(plaintext, promise: promise) {
        case .encrypt: encryptAndWrite(plaintext, promise: promise, context: context)
        case .buffered: break
        case .fail(let error): promise?.fail(error)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch stateMachine.flush() {
        case .flush: context.flush()
        case .none: break
        }
    }

    private func encryptAndWrite(_ plaintext: ByteBuffer, promise: EventLoopPromise<Void>?,
                                 context: ChannelHandlerContext) {
        guard plaintext.readableBytes > 0 else {
            // SSL_write of nothing is an error in OpenSSL; an empty write still completes in order.
            context.write(wrapOutboundOut(plaintext), promise: promise)
            return
        }
        var remaining = plaintext
        while let piece = remaining.readSlice(length: min(remaining.readableBytes, Self.encryptPieceBytesMax)),
              piece.readableBytes > 0 {
            if let error = connection.write(piece) {
                promise?.fail(error)
                fail(context: context, error)
                return
            }
            let ciphertext = connection.takeCiphertext()
            precondition(ciphertext != nil, "SSL_write succeeded without producing a record")
            // Writes complete in order, so the last piece's completion is the whole write's.
            context.write(wrapOutboundOut(ciphertext!), promise: remaining.readableBytes == 0 ? promise : nil)
        }
    }

    private func replay(_ writes: [TLSStateMachine.BufferedWrite], context: ChannelHandlerContext) {
        for write in writes {
            switch write {
            case let .write(plaintext, promise): encryptAndWrite(plaintext, promise: promise, context: context)
            case .flush: context.flush()
            }
        }
    }

    /// Whatever OpenSSL has queued for the peer (handshake messages, alerts, close_notify).
    private func sendCiphertext(context: ChannelHandlerContext, flush: Bool) {
        guard let ciphertext = connection.takeCiphertext() else { return }
        context.write(wrapOutboundOut(ciphertext), promise: nil)
        if flush { context.flush() }
    }

    // MARK: closing

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode != .input else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch stateMachine.close(promise: promise) {
        case .sendCloseNotify:
            connection.shutdown()
            sendCiphertext(context: context, flush: true)
            let loop = context.eventLoop.assumeIsolated()
            closeNotifyWait = loop.scheduleTask(in: .init(closeNotifyWaitMax)) { [self] in
                closeNotifyWaitElapsed(context: context)
            }
        case .closeNow(let writes):
            fail(writes, with: .connectionClosed)
            context.close(mode: mode, promise: promise)
        case let .joinClose(promise, existing):
            existing.futureResult.cascade(to: promise)
        case .none:
            break
        }
    }

    private func closeNotifyWaitElapsed(context: ChannelHandlerContext) {
        switch stateMachine.closeNotifyWaitElapsed() {
        case .close(let promise): context.close(promise: promise)
        case .replyAndClose, .none: break
        }
    }

    // MARK: failure

    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        switch stateMachine.failed() {
        case let .failAndClose(writes, closePromise):
            closeNotifyWait?.cancel()
            // Send the alert OpenSSL queued so the peer learns why (e.g. "unknown ca").
            sendCiphertext(context: context, flush: true)
            fail(writes, with: error)
            context.fireErrorCaught(error)
            context.close(promise: closePromise)
        case .none:
            break
        }
    }

    private func fail(_ writes: [TLSStateMachine.BufferedWrite], with error: TLSError) {
        for case let .write(_, promise?) in writes { promise.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}

/// TLS for an accepted connection (the broker's listeners).
public final class TLSServerHandler: TLSHandler {
    /// `context` must be built from a `.server` configuration.
    public init(context: TLSContext) {
        do {
            try super.init(context: context, role: .server, serverName: nil)
        } catch {
            preconditionFailure("a server handler needs no server name and cannot fail: \(error)")
        }
    }
}

/// TLS for an outgoing connection. Verifies the server's certificate against the context's CA
/// bundle and `serverName` (a DNS name, also sent as SNI, or an IP address checked against IP
/// SANs).
public final class TLSClientHandler: TLSHandler {
    /// - Parameter serverName: overrides ``TLSConfiguration/serverName`` for this connection
    ///   (one client context serves every broker it connects to).
    /// - Throws: ``TLSError/serverNameRequired`` if neither names a server.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSError) {
        try super.init(context: context, role: .client,
                       serverName: serverName ?? context.configuration.serverName)
    }
}
