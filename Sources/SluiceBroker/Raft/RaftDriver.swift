import Logging
import ServiceLifecycle
import SluiceCore
import SluiceRaft
import SluiceStorage

/// The shell around the pure `RaftNode` (DESIGN §2.1): feeds it ticks from the clock and
/// messages from peers, and carries out every `Ready` in the order its contract demands —
/// persist + fsync, then send, then apply, then advance.
///
/// Threads: the actor runs on its own `IOThreadExecutor`, so the store's blocking `write` and
/// `fsync` never occupy Swift's cooperative pool. While an fsync runs, new messages and
/// proposals queue up on the actor and go out together in the next `Ready`: that is the group
/// commit.
///
/// Lifecycle: a `Service`. `run` restores the state machine from the store's snapshot, then
/// ticks and processes Readies until cancelled. On graceful shutdown a leader first hands
/// leadership to the most caught-up voter, so the group does not wait out an election timeout.
public actor RaftDriver: Service {
    public struct Configuration: Sendable {
        public var id: NodeID
        public var members: RaftConfiguration
        public var options: RaftOptions
        /// One Raft tick. Election timeout = `options.electionTicks` ticks (randomized up to
        /// twice that); heartbeats every `options.heartbeatTicks`.
        public var tickInterval: Duration
        /// Once the log holds more applied entries than this, the driver asks the state
        /// machine for a snapshot and compacts the log up to it.
        public var snapshotEntriesMax: Int

        public init(id: NodeID, members: RaftConfiguration, options: RaftOptions = RaftOptions(),
                    tickInterval: Duration = .milliseconds(100), snapshotEntriesMax: Int = 10_000) {
            self.id = id
            self.members = members
            self.options = options
            self.tickInterval = tickInterval
            self.snapshotEntriesMax = snapshotEntriesMax
        }
    }

    enum State: Equatable {
        case idle, running, stopped
    }

    struct Waiter {
        let term: RaftTerm
        let continuation: CheckedContinuation<Result<RaftIndex, RaftProposalError>, Never>
    }

    public nonisolated let id: NodeID
    let configuration: Configuration
    nonisolated let executor: IOThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    var node: RaftNode
    var store: any RaftLogStore
    let sink: any RaftMessageSink
    let stateMachine: any RaftStateMachine
    let logger: Logger
    var state: State = .idle
    /// Proposals waiting to be applied, by log index. Invariant: empty unless this node is
    /// leader (they are failed when leadership goes). Bounded by `uncommittedEntriesMax`
    /// plus the entries committed and not yet applied.
    var waiters: [RaftIndex: Waiter] = [:]
    /// The leadership last published, to publish changes only.
    var published: RaftLeadership
    let leadershipContinuation: AsyncStream<RaftLeadership>.Continuation
    /// Wakes the Ready loop; `bufferingNewest(1)` coalesces wake-ups.
    let readyWakeUps: AsyncStream<Void>
    let readyWake: AsyncStream<Void>.Continuation

    /// Every change of leader as this node sees it (an election in progress shows as
    /// `leader == nil`), newest kept when the consumer lags (at most
    /// `leadershipChangesBufferedMax`). One consumer (the node's controller); finishes when
    /// the driver stops.
    public nonisolated let leadershipChanges: AsyncStream<RaftLeadership>
    static let leadershipChangesBufferedMax = 64

    /// - Parameter store: opened by the caller (`FileRaftLogStore(directory:)`); the driver
    ///   owns it from here on and only touches it on its own thread.
    public init(configuration: Configuration, store: sending any RaftLogStore, sink: any RaftMessageSink,
                stateMachine: any RaftStateMachine, logger: Logger) {
        id = configuration.id
        self.configuration = configuration
        executor = IOThreadExecutor(name: "raft-\(configuration.id)")
        // Election timeouts must differ between nodes and between runs; the core only needs
        // a seed (the simulator passes fixed ones).
        var system = SystemRandomNumberGenerator()
        let seed = system.next() ^ UInt64(UInt32(bitPattern: configuration.id.rawValue))
        node = RaftNode(id: configuration.id, configuration: configuration.members, options: configuration.options,
                        random: SplitMix64(seed: seed), restoring: store.recoveredState)
        self.store = store
        self.sink = sink
        self.stateMachine = stateMachine
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.id)"
        self.logger = logger
        published = RaftLeadership(leader: nil, term: node.term, isLocal: false)
        (leadershipChanges, leadershipContinuation) = AsyncStream.makeStream(
            bufferingPolicy: .bufferingNewest(Self.leadershipChangesBufferedMax))
        (readyWakeUps, readyWake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    deinit {
        // No job can reach the executor once the actor is gone.
        executor.shutdown()
    }

    // MARK: queries

    public var leader: NodeID? { node.leader }
    public var term: RaftTerm { node.term }
    public var isLeader: Bool { node.role == .leader }
    public var raftCommitIndex: RaftIndex { node.raftCommitIndex }
    public var appliedIndex: RaftIndex { node.appliedIndex }
    /// The first index still in the log: past 1 once the log was compacted.
    public var firstIndex: RaftIndex { node.firstIndex }

    // MARK: lifecycle

    public func run() async throws {
        precondition(state == .idle, "RaftDriver.run called twice")
        if let snapshot = store.recoveredState.snapshot {
            await stateMachine.restore(snapshot)
        }
        state = .running
        logger.info("raft driver started", metadata: ["term": "\(node.term)", "lastIndex": "\(node.lastIndex)"])
        defer { stop(reason: .stopped) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.tickLoop() }
            group.addTask { try await self.readyLoop() }
            group.addTask {
                // Graceful shutdown: hand over leadership first, then stop like a cancellation.
                try await gracefulShutdown()
                if await self.isLeader { try? await self.transferLeadership() }
                throw CancellationError()
            }
            do {
                try await group.next()
            } catch is CancellationError {
            }
            group.cancelAll()
        }
    }

    /// Stops taking work and fails every waiting proposal with `reason`.
    func stop(reason: RaftProposalError) {
        guard state != .stopped else { return }
        state = .stopped
        for (_, waiter) in waiters { waiter.continuation.resume(returning: .failure(reason)) }
        waiters.removeAll()
        if var closable = store as? any RaftLogStoreClosing {
            closable.close()
            store = closable
        }
        readyWake.finish()
        leadershipContinuation.finish()
        logger.info("raft driver stopped")
    }

    private func tickLoop() async throws {
        let clock = ContinuousClock()
        var next = clock.now
        while true {
            next = next.advanced(by: configuration.tickInterval)
            try await clock.sleep(until: next, tolerance: nil)
            tick()
        }
    }

    private func tick() {
        guard state == .running else { return }
        node.tick()
        afterEvent()
    }

    // MARK: events

    /// A message from a peer (the inter-node server calls this). Dropped unless running and
    /// addressed to this node.
    public func receive(_ message: RaftMessage) {
        guard state == .running, message.to == id else { return }
        node.step(message)
        afterEvent()
    }

    /// Appends `data` to the log and returns its index once it is committed and applied by
    /// this node's state machine.
    public func propose(_ data: [UInt8]) async throws(RaftProposalError) -> RaftIndex {
        guard state == .running else { throw .stopped }
        let proposed: (index: RaftIndex, term: RaftTerm)
        do {
            proposed = try node.propose(data)
        } catch {
            switch error {
            case .notLeader(let known): throw .notLeader(leaderHint: known)
            case .leadershipTransferInProgress(let t): throw .leadershipTransferInProgress(transferee: t)
            case .tooManyUncommittedEntries(let limit): throw .tooManyUncommittedEntries(limit: limit)
            case .entryTooLarge(let bytes, let limit): throw .entryTooLarge(bytes: bytes, limit: limit)
            }
        }
        afterEvent()
        let result = await withCheckedContinuation { continuation in
            waiters[proposed.index] = Waiter(term: proposed.term, continuation: continuation)
        }
        return try result.get()
    }

    /// Common tail of every event: publish a leadership change, wake the Ready loop.
    func afterEvent() {
        publishLeadership()
        if node.hasReady { readyWake.yield() }
    }

    func publishLeadership() {
        let now = RaftLeadership(leader: node.leader, term: node.term, isLocal: node.role == .leader)
        guard now.leader != published.leader || now.isLocal != published.isLocal else { return }
        if published.isLocal && !now.isLocal { failWaiters(.leadershipLost) }
        published = now
        logger.info("leadership changed", metadata: ["leader": "\(now.leader.map { "\($0)" } ?? "-")",
                                                     "term": "\(now.term)"])
        leadershipContinuation.yield(now)
    }

    func failWaiters(_ error: RaftProposalError) {
        for (_, waiter) in waiters { waiter.continuation.resume(returning: .failure(error)) }
        waiters.removeAll()
    }
}
