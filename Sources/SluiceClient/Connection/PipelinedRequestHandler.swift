import NIOCore

/// One request on its way through ``PipelinedRequestHandler``: a whole frame (4-byte size prefix
/// and request header already written, correlation id still 0) and where its answer goes.
struct OutboundRequest {
    /// The frame; the handler stamps the correlation id at ``correlationIDOffset``.
    var frame: ByteBuffer
    /// False for requests the node never answers (Produce with acks=0); their promise
    /// completes with an empty buffer once the frame is written.
    var expectsResponse: Bool
    /// The API name, for error messages.
    var api: String
    /// Completed with the response body (after the response header), or failed.
    var promise: EventLoopPromise<ByteBuffer>

    /// Offset of the correlation id in a frame: size prefix (4), api key (2), api version (2).
    static let correlationIDOffset = 8
}

/// The pipelining heart of ``BrokerConnection``: stamps correlation ids, writes up to
/// `inFlightMax` requests before their answers arrive, queues (boundedly) the rest in order,
/// matches responses to requests by correlation id, and fails every pending call at once when
/// the connection closes or the oldest request outlives the request timeout (the connection
/// is then closed, as Kafka's clients do: a late answer could not be told apart from the next).
///
/// Kafka nodes answer one connection's requests in order, so the pending calls are a FIFO;
/// the correlation id is checked against its head, and a mismatch is a protocol error.
/// Runs entirely on the channel's event loop.
final class PipelinedRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var correlationID: Int32
        var api: String
        var promise: EventLoopPromise<ByteBuffer>
        var deadline: NIODeadline
    }

    private let address: String
    private let inFlightMax: Int
    private let queuedMax: Int
    private let requestTimeout: TimeAmount
    private var nextCorrelationID: Int32 = 1
    /// Written, awaiting answers, oldest first. Invariant: count ≤ inFlightMax.
    private var inFlight = CircularBuffer<Pending>()
    /// Not yet written because `inFlight` is full, oldest first. Invariant: count ≤ queuedMax.
    private var queued = CircularBuffer<(OutboundRequest, NIODeadline)>()
    /// Set once the channel closed (or is closing): every later request fails with it.
    private var closedReason: String?
    /// The first error seen (a TLS failure, a decoding error), reported as the close reason.
    private var firstError: String?
    private var timeoutCheck: RepeatedTask?

    init(address: String, inFlightMax: Int, queuedMax: Int, requestTimeout: Duration) {
        self.address = address
        self.inFlightMax = inFlightMax
        self.queuedMax = queuedMax
        let nanoseconds = requestTimeout.components.seconds * 1_000_000_000
            + requestTimeout.components.attoseconds / 1_000_000_000
        self.requestTimeout = .nanoseconds(nanoseconds)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let interval = TimeAmount.milliseconds(max(10, min(1000, requestTimeout.nanoseconds / 1_000_000 / 10)))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeoutCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.checkTimeouts(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeoutCheck?.cancel()
        failEverything(reason: closedReason ?? "the connection was removed")
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        promise?.succeed()
        if let closedReason {
            request.promise.fail(SluiceClientError.connectionClosed(address: address, reason: closedReason))
            return
        }
        let deadline = NIODeadline.now() + requestTimeout
        if inFlight.count < inFlightMax && queued.isEmpty {
            transmit(request, deadline: deadline, context: context)
        } else if queued.count < queuedMax {
            queued.append((request, deadline))
        } else {
            request.promise.fail(SluiceClientError.connectionClosed(
                address: address, reason: "more than \(queuedMax) requests waiting on one connection"))
        }
    }

    private func transmit(_ request: OutboundRequest, deadline: NIODeadline, context: ChannelHandlerContext) {
        var frame = request.frame
        let correlationID = nextCorrelationID
        nextCorrelationID = nextCorrelationID == .max ? 1 : nextCorrelationID + 1
        frame.setInteger(correlationID, at: frame.readerIndex + OutboundRequest.correlationIDOffset)
        if request.expectsResponse {
            inFlight.append(Pending(correlationID: correlationID, api: request.api, promise: request.promise,
                                    deadline: deadline))
            context.write(wrapOutboundOut(frame), promise: nil)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            let answer = request.promise
            written.futureResult.whenComplete { result in
                switch result {
                case .success: answer.succeed(ByteBuffer())
                case .failure(let error): answer.fail(error)
                }
            }
            context.write(wrapOutboundOut(frame), promise: written)
        }
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let correlationID = frame.readInteger(as: Int32.self) else {
            fatal(context: context, "a response frame shorter than its header")
            return
        }
        guard let head = inFlight.first, head.correlationID == correlationID else {
            fatal(context: context, "an answer with correlation id \(correlationID) that no pending request has")
            return
        }
        inFlight.removeFirst()
        head.promise.succeed(frame)
        writeQueued(context: context)
    }

    private func writeQueued(context: ChannelHandlerContext) {
        var wrote = false
        while inFlight.count < inFlightMax, let (request, deadline) = queued.popFirst() {
            transmit(request, deadline: deadline, context: context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if firstError == nil { firstError = "\(error)" }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeoutCheck?.cancel()
        failEverything(reason: closedReason ?? firstError ?? "closed by the node")
        context.fireChannelInactive()
    }

    // MARK: failure

    private func checkTimeouts(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let oldest = [inFlight.first?.deadline, queued.first?.1].compactMap { $0 }.min()
        guard let oldest, oldest < now, closedReason == nil else { return }
        let api = inFlight.first?.api ?? queued.first?.0.api ?? "a request"
        let error = SluiceClientError.requestTimedOut(
            address: address, api: api, timeout: .nanoseconds(requestTimeout.nanoseconds))
        closedReason = "a request timed out"
        // Closed before the calls are failed, so that a woken caller finds the connection
        // inactive; taken out first, so that the close does not fail them with another error.
        let pending = inFlight.map(\.promise) + queued.map(\.0.promise)
        inFlight.removeAll()
        queued.removeAll()
        context.close(promise: nil)
        for promise in pending { promise.fail(error) }
    }

    private func fatal(context: ChannelHandlerContext, _ reason: String) {
        if firstError == nil { firstError = reason }
        context.close(promise: nil)
    }

    private func failEverything(reason: String) {
        if closedReason == nil { closedReason = reason }
        failEverything(with: SluiceClientError.connectionClosed(address: address, reason: reason))
    }

    private func failEverything(with error: SluiceClientError) {
        while let pending = inFlight.popFirst() { pending.promise.fail(error) }
        while let (request, _) = queued.popFirst() { request.promise.fail(error) }
    }
}

@available(*, unavailable)
extension PipelinedRequestHandler: Sendable {}
