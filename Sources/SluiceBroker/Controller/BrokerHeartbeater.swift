import Logging
import ServiceLifecycle
import Synchronization
import SluiceCore
import SluiceMetadata
import SluiceWire

/// Sends this node's heartbeat to the controller every interval: it registers the node (with
/// the endpoints clients and peers use), keeps its lease, and gets it unfenced after a restart.
struct BrokerHeartbeater: Service {
    let heartbeat: BrokerHeartbeat
    let controller: ControllerService
    let view: MetadataView
    let client: InterNodeClient
    let voters: [NodeID: HostPort]
    let interval: Duration
    let logger: Logger
    /// Whether this node's previous process shut down cleanly (the storage knows); sent with
    /// every heartbeat, read by the controller when it registers this incarnation. Overrides
    /// `heartbeat.cleanShutdown`. True by default, the behaviour before the flag existed.
    var cleanShutdown = true
    /// Set once the node is stopping: every heartbeat from then on asks for a controlled
    /// shutdown, so the controller neither elects this node nor adds it to an ISR again.
    let stopping = StopIntent()

    func run() async throws {
        var lastError: String?
        while !Task.isCancelledOrShuttingDownGracefully {
            do {
                try await send()
                if lastError != nil { logger.info("heartbeats reach the controller again") }
                lastError = nil
            } catch {
                let message = "\(error)"
                if message != lastError { logger.warning("heartbeat failed: \(message)") }
                lastError = message
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    /// One heartbeat (internal for tests; `run` repeats it). Returns the controller's answer
    /// to a node that asked to stop (whether it may stop now), or nil where no controller
    /// answered (none known, or the one asked is not the controller any more).
    @discardableResult
    func send() async throws -> Bool? {
        var heartbeat = self.heartbeat
        heartbeat.cleanShutdown = cleanShutdown
        heartbeat.wantShutDown = stopping.isSet
        if await controller.isActive {
            return await controller.heartbeat(heartbeat).map(\.shouldShutDown)
        }
        guard let id = view.current.controllerID, let address = voters[id] else { return nil }
        let answer = try await client.call(BrokerHeartbeatRequest(
            nodeID: heartbeat.nodeID, incarnation: heartbeat.incarnation,
            clientHost: heartbeat.clientEndpoint.host, clientPort: Int32(heartbeat.clientEndpoint.port),
            interNodeHost: heartbeat.interNodeEndpoint.host, interNodePort: Int32(heartbeat.interNodeEndpoint.port),
            cleanShutdown: heartbeat.cleanShutdown, wantShutDown: heartbeat.wantShutDown), to: address)
        if answer.errorCode == KafkaErrorCode.notController.rawValue { return nil }
        if answer.errorCode != 0 {
            logger.warning("controller refused the heartbeat: \(KafkaErrorCode(rawValue: answer.errorCode).map { "\($0)" } ?? "\(answer.errorCode)")")
        }
        return answer.errorCode == 0 && answer.shouldShutDown
    }
}

/// Whether the node is stopping (set once, never cleared within a process).
final class StopIntent: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// The node's first step on SIGTERM (it is the last service, so the service group stops it
/// first): a controlled shutdown. It asks the controller, heartbeat after heartbeat, to move
/// this node's leaderships and take it out of the ISRs, and returns once the controller says
/// it may stop, or after `timeout` (then it says so, and the node stops anyway: its partitions
/// move when its lease expires, as after a crash). Only then do the listeners, replicas and
/// logs stop, so clients and followers are told where the partitions went while it still
/// answers them.
struct ControlledShutdown: Service {
    let heartbeater: BrokerHeartbeater
    let partitions: PartitionManager
    let timeout: Duration
    let retryInterval: Duration
    let logger: Logger

    /// How long the handshake goes on without any answer from a controller before the node
    /// stops anyway: the metadata quorum may be gone (the rest of the cluster is stopping too).
    var unansweredMax: Duration = .seconds(5)
    /// One attempt's bound: a controller without a quorum never commits the records.
    var attemptTimeout: Duration = .seconds(2)

    func run() async throws {
        // Wait for SIGTERM/SIGINT; a cancelled group (an error elsewhere) skips the handshake.
        do { try await gracefulShutdown() } catch { return }
        if Task.isCancelled { return }
        guard timeout > .zero else {
            logger.info("controlled shutdown is off (cluster.controlled_shutdown_timeout_ms = 0): stopping at once")
            return
        }
        heartbeater.stopping.set()
        let clock = ContinuousClock()
        let started = clock.now
        var answered = started
        logger.info("controlled shutdown: asking the controller to move this node's leaderships")
        var lastError: String?
        while clock.now - started < timeout, !Task.isCancelled {
            if clock.now - answered > unansweredMax {
                let leading = await partitions.leaderCount()
                logger.warning("controlled shutdown: no controller answered for \(unansweredMax.wholeMilliseconds) ms (is the metadata quorum gone?); stopping while leading \(leading) partition(s), which move when this node's lease expires")
                return
            }
            do {
                let heartbeater = self.heartbeater
                let answer = try await Self.within(attemptTimeout) { try await heartbeater.send() }
                if let mayStop = answer {
                    answered = clock.now
                    if mayStop {
                        await waitUntilLeadingNothing(deadline: started + timeout)
                        let leading = await partitions.leaderCount()
                        let elapsed = clock.now - started
                        if leading == 0 {
                            logger.info("controlled shutdown: leaderships moved in \(elapsed.wholeMilliseconds) ms; stopping")
                        } else {
                            logger.warning("controlled shutdown: the controller moved this node's leaderships, but \(leading) replica(s) here still lead after \(elapsed.wholeMilliseconds) ms; stopping anyway")
                        }
                        return
                    }
                }
                lastError = nil
            } catch {
                let message = "\(error)"
                if message != lastError { logger.warning("controlled shutdown: heartbeat failed: \(message)") }
                lastError = message
            }
            try? await Task.sleep(for: retryInterval)
        }
        let leading = await partitions.leaderCount()
        logger.warning("controlled shutdown: not done within \(timeout.wholeMilliseconds) ms (cluster.controlled_shutdown_timeout_ms); stopping anyway while leading \(leading) partition(s), which move when this node's lease expires")
    }

    struct AttemptTimedOut: Error, CustomStringConvertible {
        var description: String { "no answer in time" }
    }

    /// `body`'s result, or `AttemptTimedOut` after `limit`. The body is left to finish on its
    /// own: a proposal waiting for a quorum may not end when cancelled.
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = Once<T>()
        return try await withCheckedThrowingContinuation { continuation in
            once.arm(continuation)
            Task {
                do { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: limit)
                once.resume(.failure(AttemptTimedOut()))
            }
        }
    }

    /// Resumes a continuation with the first result only.
    final class Once<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)
        func arm(_ c: CheckedContinuation<T, any Error>) { continuation.withLock { $0 = c } }
        func resume(_ result: Result<T, any Error>) {
            let c = continuation.withLock { c -> CheckedContinuation<T, any Error>? in defer { c = nil }; return c }
            c?.resume(with: result)
        }
    }

    /// The controller's records have committed; this node applies them a moment later. Until
    /// its replicas have become followers, clients still find it the leader in their metadata.
    private func waitUntilLeadingNothing(deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if await partitions.leaderCount() == 0 { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDownGracefully: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
