import NIOCore

/// The lifecycle of one TLS connection, separate from OpenSSL and from the channel: it decides,
/// for each event, what ``TLSHandler`` should do. OpenSSL keeps the cryptographic state; this
/// keeps what OpenSSL does not know about: whether the channel is up, plaintext written before
/// the handshake finished, and the close in progress.
///
/// ```
/// idle ──active──▶ handshaking ──done──▶ active ──close──▶ closing ──peer close_notify / wait──▶ closed
///   └──────────────────┴── failure, close or channel inactive ──────────┴────────────────────────▶ closed
/// ```
struct TLSStateMachine {
    /// A write or flush made before the handshake finished, replayed in order after it.
    enum BufferedWrite {
        case write(ByteBuffer, EventLoopPromise<Void>?)
        case flush
    }

    private enum State {
        case idle
        case handshaking
        case active
        /// Our `close_notify` is sent; waiting for the peer's (or the wait limit).
        case closing(EventLoopPromise<Void>?)
        case closed
    }

    let role: TLSConfiguration.Role
    let pendingPlaintextBytesMax: Int
    private var state: State = .idle
    /// Invariant: empty unless `state` is `.idle` or `.handshaking`.
    private var buffered: [BufferedWrite] = []
    /// Invariant: the sum of the readable bytes of the writes in `buffered`.
    private var bufferedBytes = 0
    /// The first bytes the peer sent, kept until the first record header (3 bytes) is checked.
    private var firstBytes: [UInt8] = []
    private static let recordHeaderCheckedBytes = 3
    private static let firstBytesKept = 16

    init(role: TLSConfiguration.Role, pendingPlaintextBytesMax: Int) {
        self.role = role
        self.pendingPlaintextBytesMax = pendingPlaintextBytesMax
    }

    var isHandshaking: Bool { if case .handshaking = state { true } else { false } }

    // MARK: channel up

    enum ActiveAction { case startHandshake, awaitClientHello, none }

    mutating func channelActive() -> ActiveAction {
        guard case .idle = state else { return .none }
        state = .handshaking
        return role == .client ? .startHandshake : .awaitClientHello
    }

    // MARK: inbound

    enum ReadAction {
        case continueHandshake
        case decrypt
        case rejectNotTLS(firstBytes: [UInt8])
        case drop
    }

    mutating func channelRead(_ bytes: ByteBuffer) -> ReadAction {
        if let problem = checkFirstRecordHeader(bytes) { return problem }
        switch state {
        case .idle:
            state = .handshaking
            return .continueHandshake
        case .handshaking: return .continueHandshake
        case .active, .closing: return .decrypt
        case .closed: return .drop
        }
    }

    /// A TLS stream starts with a record header: content type handshake (22) or alert (21), then
    /// protocol major version 3. Anything else is a plaintext client on a TLS port; saying so is
    /// more useful than OpenSSL's "wrong version number".
    private mutating func checkFirstRecordHeader(_ bytes: ByteBuffer) -> ReadAction? {
        guard firstBytes.count < Self.recordHeaderCheckedBytes else { return nil }
        let take = min(bytes.readableBytes, Self.firstBytesKept - firstBytes.count)
        firstBytes += bytes.getBytes(at: bytes.readerIndex, length: take) ?? []
        let typeOK = firstBytes.first.map { $0 == 22 || $0 == 21 } ?? true
        let majorOK = firstBytes.count < 2 || firstBytes[1] == 3
        if typeOK && majorOK { return nil }
        state = .closed
        return .rejectNotTLS(firstBytes: firstBytes)
    }

    // MARK: handshake

    /// The handshake finished: returns the writes made meanwhile, to encrypt in order.
    mutating func handshakeCompleted() -> [BufferedWrite] {
        guard case .handshaking = state else {
            preconditionFailure("handshake completed in state \(state)")
        }
        state = .active
        defer { buffered = []; bufferedBytes = 0 }
        return buffered
    }

    // MARK: outbound

    enum WriteAction {
        case encrypt
        case buffered
        case fail(TLSError)
    }

    mutating func write(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>?) -> WriteAction {
        switch state {
        case .idle, .handshaking:
            guard bufferedBytes + bytes.readableBytes <= pendingPlaintextBytesMax else {
                return .fail(.pendingPlaintextLimitExceeded(limitBytes: pendingPlaintextBytesMax))
            }
            buffered.append(.write(bytes, promise))
            bufferedBytes += bytes.readableBytes
            return .buffered
        case .active: return .encrypt
        case .closing, .closed: return .fail(.connectionClosed)
        }
    }

    enum FlushAction { case flush, none }

    mutating func flush() -> FlushAction {
        switch state {
        case .idle, .handshaking:
            // One marker stands for any number of flushes in a row, so flushes cannot grow
            // the buffer without bound.
            if case .flush? = buffered.last {} else { buffered.append(.flush) }
            return .none
        case .active: return .flush
        case .closing, .closed: return .none
        }
    }

    // MARK: closing

    enum CloseAction {
        /// Send `close_notify`, then wait for the peer's; `promise` completes when the channel closes.
        case sendCloseNotify
        /// Close the channel now, failing the writes that never got to go.
        case closeNow(failing: [BufferedWrite])
        /// A close is already under way; complete `promise` when `onto` completes.
        case joinClose(EventLoopPromise<Void>, onto: EventLoopPromise<Void>)
        /// A close is already under way and there is nothing to add to it.
        case none
    }

    mutating func close(promise: EventLoopPromise<Void>?) -> CloseAction {
        switch state {
        case .idle, .handshaking:
            state = .closed
            defer { buffered = []; bufferedBytes = 0 }
            return .closeNow(failing: buffered)
        case .active:
            state = .closing(promise)
            return .sendCloseNotify
        case .closing(let existing):
            guard let promise else { return .none }
            guard let existing else {
                state = .closing(promise)
                return .none
            }
            return .joinClose(promise, onto: existing)
        case .closed:
            return .closeNow(failing: [])
        }
    }

    enum PeerCloseAction {
        /// The peer started the close: answer with our `close_notify` and close the channel.
        case replyAndClose
        /// The peer answered our `close_notify`: close the channel, completing `promise`.
        case close(EventLoopPromise<Void>?)
        case none
    }

    mutating func closeNotifyReceived() -> PeerCloseAction {
        switch state {
        case .active, .handshaking, .idle:
            state = .closed
            return .replyAndClose
        case .closing(let promise):
            state = .closed
            return .close(promise)
        case .closed: return .none
        }
    }

    /// The peer did not answer our `close_notify` in time.
    mutating func closeNotifyWaitElapsed() -> PeerCloseAction {
        guard case .closing(let promise) = state else { return .none }
        state = .closed
        return .close(promise)
    }

    // MARK: failure and the end of the channel

    enum FailAction {
        case failAndClose(failing: [BufferedWrite], closePromise: EventLoopPromise<Void>?)
        /// Already closed: the error has been reported or the channel is gone.
        case none
    }

    mutating func failed() -> FailAction {
        let closePromise: EventLoopPromise<Void>?
        switch state {
        case .closed: return .none
        case .closing(let promise): closePromise = promise
        case .idle, .handshaking, .active: closePromise = nil
        }
        state = .closed
        defer { buffered = []; bufferedBytes = 0 }
        return .failAndClose(failing: buffered, closePromise: closePromise)
    }

    enum InactiveAction {
        /// The TCP connection ended mid-stream without `close_notify`.
        case reportUncleanShutdown
        /// It ended during the handshake: report it and fail the writes that never went.
        case reportHandshakeCut(failing: [BufferedWrite])
        /// It ended while we waited for the peer's `close_notify`; the close succeeded.
        case completeClose(EventLoopPromise<Void>?)
        case none
    }

    mutating func channelInactive() -> InactiveAction {
        let previous = state
        state = .closed
        switch previous {
        case .active: return .reportUncleanShutdown
        case .handshaking:
            defer { buffered = []; bufferedBytes = 0 }
            return .reportHandshakeCut(failing: buffered)
        case .closing(let promise): return .completeClose(promise)
        case .idle, .closed: return .none
        }
    }
}
