import Logging
import ServiceLifecycle
import SluiceCore
import SluiceMetadata
import SluiceWire

/// The consumer-group coordinator of this node (DESIGN §2.4): it drives the pure
/// `GroupCoordinator` while this node is the controller, and writes what the core decides to the
/// metadata log before any client hears about it.
///
/// Each request becomes a token and a parked continuation; the core's output (records plus
/// answers for tokens, possibly other members' parked JoinGroup/SyncGroup requests) is queued for
/// the proposer (`GroupCoordinatorService+Proposer.swift`), which writes queued outputs strictly
/// in order and answers them once their entry has committed. A timer ticks the core for session
/// expiry, join-phase completion and offsets retention.
///
/// States: inactive (not the controller, or the core was dropped), activating (the node leads;
/// the core is built once an empty entry of its own has committed), active, stopped (graceful
/// shutdown; every group request is answered NOT_COORDINATOR). Whenever the core is dropped,
/// every parked request is answered NOT_COORDINATOR at once: a continuation is never leaked.
///
/// Bounds: a client connection holds at most one request in the broker (`KafkaServer`), so
/// parked requests and queued outputs are bounded by `limits.connections_max` (plus one tick
/// output per tick while a proposal is in flight).
public actor GroupCoordinatorService: Service {
    /// Why a request was not taken by the core.
    enum Refusal: Error, Equatable {
        /// This node is not the coordinator (NOT_COORDINATOR): not the controller, the core was
        /// dropped while the request waited, or the node is shutting down.
        case notCoordinator
        /// This node is the controller but has not built the core yet (COORDINATOR_LOAD_IN_PROGRESS).
        case loading

        var errorCode: KafkaErrorCode { self == .loading ? .coordinatorLoadInProgress : .notCoordinator }
    }

    let nodeID: NodeID
    let log: any MetadataLog
    let view: MetadataView
    let options: GroupOptions
    let logger: Logger
    /// Monotonic milliseconds (session and rebalance timers).
    let nowMs: @Sendable () -> Int64
    /// Wall-clock milliseconds (written into records: commit and state-change times).
    let wallMs: @Sendable () -> Int64
    /// Longest tick interval; the tick comes sooner when the core has an earlier deadline.
    let tickIntervalMs: Int64

    /// The pure coordinator while active. Invariant: nil whenever `waiting` and `queue` are empty
    /// because of a drop; never non-nil while `stopped`.
    var core: GroupCoordinator?
    var activating = false
    var stopped = false
    /// Bumped whenever the core is built or dropped, so work started under one core never acts
    /// on another.
    var epoch: UInt64 = 0
    var nextToken: GroupRequestToken = 1
    /// Parked requests: answered with the core's reply, or with a refusal when the core is dropped.
    var waiting: [GroupRequestToken: CheckedContinuation<Result<GroupReplyBody, Refusal>, Never>] = [:]
    /// Outputs not yet handed to the proposer, in the order the core produced them.
    var queue: [GroupOutput] = []
    let proposerWake: AsyncStream<Void>
    let proposerWakeContinuation: AsyncStream<Void>.Continuation

    public init(nodeID: NodeID, log: any MetadataLog, view: MetadataView, options: GroupOptions, logger: Logger,
                nowMs: @escaping @Sendable () -> Int64, wallMs: @escaping @Sendable () -> Int64, tickIntervalMs: Int64 = 100) {
        self.nodeID = nodeID
        self.log = log
        self.view = view
        self.options = options
        self.logger = logger
        self.nowMs = nowMs
        self.wallMs = wallMs
        self.tickIntervalMs = tickIntervalMs
        (proposerWake, proposerWakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var isActive: Bool { core != nil }

    /// Builds the core from the committed image. Called once the controller is active on this
    /// node; an empty entry is committed first so that the image holds every earlier entry
    /// (also one an earlier core of this node proposed before a failure).
    public func activate() async {
        guard !stopped, core == nil, !activating else { return }
        activating = true
        defer { activating = false }
        let started = epoch
        do {
            _ = try await log.propose([])
        } catch {
            logger.info("group coordinator not activated: \(error)")
            return
        }
        guard !stopped, core == nil, epoch == started else { return }
        // A fresh seed per core: member ids it generates must not repeat an earlier core's.
        core = GroupCoordinator(image: view.current.image, options: options, nowMs: nowMs(),
                                seed: UInt64.random(in: 0...UInt64.max))
        epoch &+= 1
        logger.info("group coordinator active on node \(nodeID): \(view.current.image.groups.count) groups loaded")
    }

    /// Leadership lost: the core may assume records that never commit, so it is dropped and
    /// every parked request is answered NOT_COORDINATOR.
    public func deactivate() {
        if core != nil { logger.info("group coordinator inactive on node \(nodeID)") }
        drop()
    }

    /// Drops the core, forgets queued outputs and answers every parked request NOT_COORDINATOR.
    func drop() {
        core = nil
        epoch &+= 1
        queue.removeAll()
        let parked = waiting
        waiting.removeAll()
        for continuation in parked.values { continuation.resume(returning: .failure(.notCoordinator)) }
    }

    /// The refusal for a request that finds no core.
    func refusal() -> Refusal {
        !stopped && (activating || view.current.controllerID == nodeID) ? .loading : .notCoordinator
    }

    /// Runs one core call that may park: registers a token, feeds the core, queues its output,
    /// and waits for this token's answer (after the records of this and every earlier output
    /// have committed), or for a refusal.
    func submit(_ call: (inout GroupCoordinator, GroupRequestToken, _ nowMs: Int64, _ wallMs: Int64) -> GroupOutput) async
        -> Result<GroupReplyBody, Refusal> {
        guard var working = core else { return .failure(refusal()) }
        let token = nextToken
        nextToken += 1
        return await withCheckedContinuation { continuation in
            waiting[token] = continuation
            core = nil  // one reference, so the call mutates the core in place
            let output = call(&working, token, nowMs(), wallMs())
            core = working
            enqueue(output)
        }
    }

    /// A core call answered at once (Heartbeat, DescribeGroups, ListGroups).
    func inspect<T>(_ call: (inout GroupCoordinator, _ nowMs: Int64) -> T) -> Result<T, Refusal> {
        guard var working = core else { return .failure(refusal()) }
        core = nil
        let result = call(&working, nowMs())
        core = working
        return .success(result)
    }

    func enqueue(_ output: GroupOutput) {
        guard !output.records.isEmpty || !output.replies.isEmpty else { return }
        queue.append(output)
        proposerWakeContinuation.yield()
    }

    /// Runs the proposer and the timer until graceful shutdown, then answers every parked
    /// request NOT_COORDINATOR and refuses new ones.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.proposeQueued() }
            group.addTask { await self.runTimer() }
            try? await gracefulShutdown()
            stop()
            group.cancelAll()
        }
    }

    func stop() {
        stopped = true
        deactivate()
        proposerWakeContinuation.finish()
    }

    // MARK: timer

    func runTimer() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(nextTickDelayMs())) } catch { return }
            tick()
        }
    }

    /// Milliseconds until the next tick: the core's next deadline, at most `tickIntervalMs`.
    func nextTickDelayMs() -> Int64 {
        guard let deadline = core?.nextDeadlineMs else { return tickIntervalMs }
        return min(tickIntervalMs, max(1, deadline - nowMs()))
    }

    func tick() {
        guard var working = core else { return }
        core = nil
        let output = working.tick(nowMs: nowMs(), wallMs: wallMs())
        core = working
        enqueue(output)
    }
}
