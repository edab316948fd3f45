import NIOCore
import SluiceCore
import SluiceRecords
import SluiceMetadata
import SluiceReplication
import SluiceStorage
import SluiceWire

/// A seeded whole-cluster simulation of partition replication (DESIGN §2.2): three brokers,
/// each with real `PartitionLog`s on its own `SimulatedFileSystem`, driving the real
/// `LeaderState` and `FollowerState` of SluiceReplication, and the real `Controller` of
/// SluiceMetadata deciding registrations, fencing, elections and ISR changes. Producers append
/// with acks=all and min.insync.replicas, consumers read up to the high watermark.
///
/// Faults, all from one `SplitMix64`: message loss and delay, a node cut off from everyone,
/// pauses (a node stops handling anything), crashes (the file system keeps a random prefix
/// of its unsynced writes, maybe torn; the node comes back with a new incarnation) and leader
/// moves (a leader's heartbeats stop until its lease expires), and, when `bitFlipRate` is set,
/// bit rot in closed segments (`ReplicationSimulation+Damage`). `ReplicationSimulationChecker`
/// checks every step; after the fault phase everything heals and every partition must
/// converge. The same seed always replays the same run.
///
/// Model: the controller is one always-available process (node 0) whose decisions commit at
/// once (the Raft log under it has its own simulator); brokers learn the image from its
/// broadcasts and heartbeat answers, late or never, so they act on stale metadata as real
/// brokers do. What the real parts do not do yet is modelled here, each called out where it
/// happens: the controller takes a restarted broker out of every ISR, keeps a partition whose
/// only ISR member restarted uncleanly leaderless (with `flush = none`), and refuses an
/// expansion justified by a broker's previous incarnation (KIP-903); the leader's
/// OffsetForLeaderEpoch answer knows its own epoch before it appends in it
/// (`PartitionLog.beginLeaderEpoch`, on another branch).
public struct ReplicationSimulation {
    static let controllerID = NodeID(0)
    /// Producers and consumers talk from here; only the broker end of a link can be cut.
    static let clientID = NodeID(100)
    static let topic: TopicName = {
        guard let name = TopicName(rawValue: "events") else { preconditionFailure("'events' is a legal topic name") }
        return name
    }()

    enum Event {
        case faultStep
        case deliver(to: NodeID, generation: Int, from: NodeID, SimMessage)
        case controllerTick
        case heartbeat(NodeID, generation: Int)
        case brokerTick(NodeID, generation: Int)
        case restart(NodeID)
        case produce(partition: Int)
        case consume(partition: Int)
        case heal
        case livenessCheck
    }

    let options: ReplicationSimulationOptions
    var random: SplitMix64
    var queue = GroupEventQueue<Event>()
    var now: Int64 = 0
    var trace: EventTrace
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    var violation: String?
    var currentEvent = "start"

    var controller: Controller
    let controllerOptions: ControllerOptions
    /// Bumped with every controller decision that changed the image; brokers keep the newest.
    var metadataVersion = 0
    var brokers: [SimBroker] = []
    let replicationOptions: ReplicationOptions
    let logConfig: LogConfig
    var checker: ReplicationSimulationChecker

    var producers: [ReplicationProducer]
    var consumers: [ReplicationConsumer]
    /// acks=all produces a leader has appended and not answered yet, by token.
    var pendingProduces: [UInt64: (partition: Int, batch: BatchID)] = [:]
    var nextToken: UInt64 = 1
    var nextRequest: UInt64 = 1
    /// Partitions the controller keeps leaderless, and why (`keepLeaderless`).
    var leaderlessReasons: [Int: String] = [:]
    var healed = false
    var livenessReached = false

    // Statistics.
    var crashes = 0
    var lossyCrashes = 0
    var truncations = 0
    var isrChanges = 0
    var leaderEpochs = 0
    var bitFlips = 0
    var healedDamages = 0

    var faultsOver: Bool { now >= options.faultPhaseMs }

    public init(options: ReplicationSimulationOptions) {
        self.options = options
        random = SplitMix64(seed: options.seed)
        trace = EventTrace(capacity: options.traceEventsMax)
        var co = ControllerOptions()
        co.brokerSessionTimeoutMs = options.brokerSessionTimeoutMs
        controllerOptions = co
        controller = Controller(image: .empty, options: co, nowMs: 0, seed: options.seed)
        var ro = ReplicationOptions()
        ro.replicaLagTimeMaxMs = options.replicaLagTimeMaxMs
        replicationOptions = ro
        var lc = LogConfig()
        lc.segmentBytes = options.segmentBytes
        lc.flush = options.flush
        logConfig = lc
        checker = ReplicationSimulationChecker(
            partitionCount: options.partitionCount, minInsyncReplicas: options.minInsyncReplicas,
            excusesLossyCrashes: options.flush != .always)
        producers = Array(repeating: ReplicationProducer(), count: options.partitionCount)
        consumers = Array(repeating: ReplicationConsumer(), count: options.partitionCount)
        bootstrap()
    }

    /// Registers and unfences every broker, creates the topic, opens every replica's log and
    /// starts the timers.
    mutating func bootstrap() {
        for i in 1...options.brokerCount {
            let id = NodeID(Int32(i))
            let incarnation = KafkaUUID(high: UInt64(i), low: random.next())
            let heartbeat = Self.heartbeat(id, incarnation)
            _ = controller.brokerHeartbeat(heartbeat, nowMs: 0)
            _ = controller.brokerHeartbeat(heartbeat, nowMs: 0)
            var broker = SimBroker(id: id, incarnation: incarnation)
            for p in 0..<options.partitionCount {
                broker.replicas.append(SimReplica(log: openLog(id, p, fileSystem: broker.fileSystem)!))
            }
            brokers.append(broker)
        }
        let created = controller.createTopics(
            [CreateTopicRequest(name: Self.topic.description, numPartitions: Int32(options.partitionCount), replicationFactor: 3)],
            validateOnly: false)
        precondition(created.result.allSatisfy { $0.error == .none }, "topic creation failed: \(created.result)")
        metadataVersion = 1
        for broker in brokers {
            queue.push(.heartbeat(broker.id, generation: 0), at: delay(1, options.heartbeatIntervalMs))
            queue.push(.brokerTick(broker.id, generation: 0), at: delay(1, 50))
        }
        broadcastMetadata()
        queue.push(.controllerTick, at: 100)
        queue.push(.faultStep, at: options.faultStepMs)
        queue.push(.heal, at: options.faultPhaseMs)
        for p in 0..<options.partitionCount {
            queue.push(.produce(partition: p), at: delay(50, 100))
            queue.push(.consume(partition: p), at: delay(50, 100))
        }
    }

    /// Runs the whole simulation.
    public static func run(_ options: ReplicationSimulationOptions) -> Result {
        var sim = ReplicationSimulation(options: options)
        return sim.run()
    }

    mutating func run() -> Result {
        let endMs = options.faultPhaseMs + options.healingBoundMs
        while violation == nil, !livenessReached, let (time, event) = queue.pop() {
            guard time <= endMs else { break }
            now = time
            handle(event)
        }
        if violation == nil && !livenessReached {
            fail("liveness: \(options.healingBoundMs) ms after healing the cluster has not converged: \(convergenceProblem() ?? "?")")
        }
        return Result(
            seed: options.seed, violation: violation, trace: trace.lines, digest: digest,
            acknowledgedBatches: checker.acknowledgedCount, servedBatches: checker.servedCount, leaderEpochs: leaderEpochs,
            crashes: crashes, lossyCrashes: lossyCrashes, truncations: truncations, isrChanges: isrChanges,
            leaderlessPartitions: leaderlessReasons.count, bitFlips: bitFlips, healedDamages: healedDamages)
    }

    mutating func handle(_ event: Event) {
        switch event {
        case .faultStep: faultStep()
        case .deliver(let to, let generation, let from, let message):
            currentEvent = "\(message.summary) from \(from) to \(to)"
            deliver(message, to: to, generation: generation, from: from)
        case .controllerTick:
            currentEvent = "a controller tick"
            controllerTick()
        case .heartbeat(let id, let generation):
            currentEvent = "a heartbeat of broker \(id)"
            sendHeartbeat(id, generation: generation)
        case .brokerTick(let id, let generation):
            currentEvent = "a tick of broker \(id)"
            brokerTick(id, generation: generation)
        case .restart(let id):
            currentEvent = "the restart of broker \(id)"
            restart(id)
        case .produce(let p):
            currentEvent = "a produce to partition \(p)"
            produce(p)
        case .consume(let p):
            currentEvent = "a consume from partition \(p)"
            consume(p)
        case .heal:
            currentEvent = "healing"
            heal()
        case .livenessCheck:
            currentEvent = "a liveness check"
            livenessCheck()
        }
    }

    // MARK: the network

    /// Sends `message`; it arrives after 1–8 ms unless it is lost, or an end of the link is
    /// cut off, down or restarted before it arrives.
    mutating func send(_ message: SimMessage, from: NodeID, to: NodeID) {
        if isCut(from) || isCut(to) { return }
        if !faultsOver && random.nextDouble() < options.messageLossRate { return }
        let generation = broker(to)?.generation ?? 0
        queue.push(.deliver(to: to, generation: generation, from: from, message), at: now + delay(1, 8))
    }

    func isCut(_ id: NodeID) -> Bool {
        guard let b = broker(id) else { return false }
        return b.isolatedUntilMs > now
    }

    mutating func deliver(_ message: SimMessage, to: NodeID, generation: Int, from: NodeID) {
        if isCut(to) || isCut(from) { return }
        if let b = broker(to) {
            guard b.up, b.generation == generation else { return }
            if b.pausedUntilMs > now {
                queue.push(.deliver(to: to, generation: generation, from: from, message), at: b.pausedUntilMs)
                return
            }
        }
        switch message {
        case .heartbeat(let id, let incarnation): controllerHeard(Self.heartbeat(id, incarnation))
        case .alterPartition(let p, let request, let incarnations, let id):
            controllerAlterPartition(p, request, incarnations: incarnations, id: id)
        case .metadata(let image, let version): applyMetadata(to: to, image, version: version)
        case .alterPartitionAnswer(let p, let id, let result): isrChangeAnswered(on: to, p, request: id, result)
        case .fetch(let p, let offset, let epoch, let incarnation, let request):
            answerFetch(on: to, p, from: from, offset: offset, epoch: epoch, incarnation: incarnation, request: request)
        case .fetchAnswer(let p, let request, let reply): fetchAnswered(on: to, p, request: request, reply)
        case .epochQuery(let p, let asked, let current, let request):
            answerEpochQuery(on: to, p, from: from, asked: asked, current: current, request: request)
        case .epochAnswer(let p, let request, let answer): epochAnswered(on: to, p, request: request, answer)
        case .produce(let p, let token, let batch): produceArrived(on: to, p, token: token, batch: batch)
        case .produceAnswer(let p, let token, let outcome): produceAnswered(p, token: token, outcome)
        case .consumerFetch(let p, let position, let request): consumerFetchArrived(on: to, p, position: position, request: request)
        case .consumerFetchAnswer(let p, let request, let answer): consumerFetchAnswered(p, request: request, answer)
        case .replicaDamaged(let p, let report): controllerReplicaDamaged(p, report)
        }
        if violation == nil, case let p? = message.partition { checkPartition(p) }
    }

    // MARK: helpers

    func broker(_ id: NodeID) -> SimBroker? {
        let i = Int(id.rawValue) - 1
        return brokers.indices.contains(i) ? brokers[i] : nil
    }

    func index(_ id: NodeID) -> Int { Int(id.rawValue) - 1 }

    func topicPartition(_ p: Int) -> TopicPartition { TopicPartition(Self.topic, PartitionIndex(Int32(p))) }

    static func heartbeat(_ id: NodeID, _ incarnation: KafkaUUID) -> BrokerHeartbeat {
        BrokerHeartbeat(nodeID: id, incarnation: incarnation, clientEndpoint: BrokerEndpoint(host: "b\(id)", port: 9092),
                        interNodeEndpoint: BrokerEndpoint(host: "b\(id)", port: 9093))
    }

    func logDirectory(_ id: NodeID, _ p: Int) -> String { "/data/\(id)/topics/\(Self.topic)-\(p)" }

    /// Opens (recovering after a crash) one replica's log; a failure is a violation.
    mutating func openLog(_ id: NodeID, _ p: Int, fileSystem: SimulatedFileSystem) -> PartitionLog? {
        do {
            return try PartitionLog(fileSystem: fileSystem, directory: logDirectory(id, p), config: logConfig, nowMs: now)
        } catch {
            fail("broker \(id) cannot open its log of partition \(p): \(error)")
            return nil
        }
    }

    /// Records an event in the trace and the digest.
    mutating func note(_ line: String) {
        let text = "t=\(now) \(line)"
        for byte in text.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
        trace.record(text)
    }

    mutating func fail(_ what: String) {
        guard violation == nil else { return }
        violation = "seed \(options.seed) t=\(now) during \(currentEvent): \(what)"
        note("VIOLATION \(what)")
    }

    /// A uniform random delay in `low...high` ms.
    mutating func delay(_ low: Int64, _ high: Int64) -> Int64 {
        low + Int64(random.next(below: UInt64(high - low + 1)))
    }
}

extension SplitMix64 {
    /// A uniform value in `0..<1`.
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// What travels between the controller, the brokers and the clients.
enum SimMessage {
    case heartbeat(NodeID, KafkaUUID)
    case metadata(MetadataImage, version: Int)
    /// With the incarnations of the members it adds (`ISRProposal.addedIncarnations`).
    case alterPartition(partition: Int, SluiceMetadata.AlterPartitionRequest, [NodeID: BrokerIncarnation], request: UInt64)
    case alterPartitionAnswer(partition: Int, request: UInt64, AlterPartitionResult)
    /// A follower's Fetch at its log end, with its view of the leader epoch.
    case fetch(partition: Int, offset: Offset, leaderEpoch: LeaderEpoch, BrokerIncarnation, request: UInt64)
    case fetchAnswer(partition: Int, request: UInt64, FetchReply)
    /// OffsetForLeaderEpoch: where does `asked` end in the leader's log?
    case epochQuery(partition: Int, asked: LeaderEpoch, current: LeaderEpoch, request: UInt64)
    case epochAnswer(partition: Int, request: UInt64, FollowerState.EpochAnswer)
    case produce(partition: Int, token: UInt64, ByteBuffer)
    case produceAnswer(partition: Int, token: UInt64, ProduceWaitOutcome?)
    case consumerFetch(partition: Int, position: Offset, request: UInt64)
    case consumerFetchAnswer(partition: Int, request: UInt64, ConsumerFetchReply)
    /// A replica's log holds a damaged batch: take it out of the ISR (ReplicaDamaged).
    case replicaDamaged(partition: Int, DamagedReplicaReport)

    var partition: Int? {
        switch self {
        case .heartbeat, .metadata: nil
        case .alterPartition(let p, _, _, _), .alterPartitionAnswer(let p, _, _), .fetch(let p, _, _, _, _), .fetchAnswer(let p, _, _),
            .epochQuery(let p, _, _, _), .epochAnswer(let p, _, _), .produce(let p, _, _), .produceAnswer(let p, _, _),
            .consumerFetch(let p, _, _), .consumerFetchAnswer(let p, _, _), .replicaDamaged(let p, _):
            p
        }
    }

    var summary: String {
        switch self {
        case .heartbeat: "a heartbeat"
        case .metadata(_, let v): "metadata v\(v)"
        case .alterPartition(let p, let r, _, _): "AlterPartition p\(p) isr \(r.newISR)"
        case .alterPartitionAnswer(let p, _, _): "an AlterPartition answer p\(p)"
        case .fetch(let p, let o, let e, _, _): "a Fetch p\(p) at \(o) epoch \(e)"
        case .fetchAnswer(let p, _, _): "a Fetch answer p\(p)"
        case .epochQuery(let p, let a, let c, _): "OffsetForLeaderEpoch p\(p) epoch \(a) (current \(c))"
        case .epochAnswer(let p, _, let a): "an OffsetForLeaderEpoch answer p\(p) \(a)"
        case .produce(let p, let t, _): "a produce p\(p) #\(t)"
        case .produceAnswer(let p, let t, let o): "a produce answer p\(p) #\(t) \(o.map { "\($0)" } ?? "refused")"
        case .consumerFetch(let p, let o, _): "a consumer fetch p\(p) at \(o)"
        case .consumerFetchAnswer(let p, _, _): "a consumer fetch answer p\(p)"
        case .replicaDamaged(let p, let r): "ReplicaDamaged p\(p) from \(r.replicaID)"
        }
    }
}

enum FetchReply {
    /// Batches from the fetch offset (possibly none) and the leader's high watermark.
    case records(ByteBuffer, highWatermark: Offset)
    case refused(FollowerState.FetchAnswer)
}

enum ConsumerFetchReply {
    case batches([BatchID])
    /// The position is past the leader's log end.
    case outOfRange
    /// Not the leader.
    case refused
}

/// One broker: its file system outlives crashes; everything else is rebuilt on restart.
struct SimBroker {
    let id: NodeID
    let fileSystem = SimulatedFileSystem()
    var incarnation: KafkaUUID
    var up = true
    /// Bumped by every crash and restart: timers and messages of an older generation are
    /// dropped.
    var generation = 0
    var pausedUntilMs: Int64 = 0
    var isolatedUntilMs: Int64 = 0
    /// A leader move: heartbeats are not sent until then, so the lease expires.
    var heartbeatsMutedUntilMs: Int64 = 0
    var metadataVersion = 0
    var image = MetadataImage.empty
    /// Each partition's batches when the broker last crashed: recovery must keep a prefix.
    var batchesAtCrash: [[BatchID]] = []
    /// By partition index. Invariant: one per partition, logs open while `up`.
    var replicas: [SimReplica] = []
}

/// One partition replica on one broker: its log, the sim's copy of the log's batch headers,
/// and the replication state it drives.
struct SimReplica {
    var log: PartitionLog
    /// The identities of the log's batches, oldest first, kept in step with every append and
    /// truncation (and rebuilt from the log after a restart), so checks need no disk reads.
    var batches: [BatchID] = []
    /// How many of `batches` the checker has compared with the committed log.
    var checkedBatches = 0
    var leader: LeaderState?
    var follower: FollowerState?
    /// The follower's request in flight (Fetch or OffsetForLeaderEpoch) and when it left.
    var inflight: (request: UInt64, sentAtMs: Int64)?
    var backOffUntilMs: Int64 = 0
    /// The leader's AlterPartition in flight and when it left; unanswered past the request
    /// timeout it counts as rejected, so the leader may propose again. An answer to any
    /// other request is stale (the metadata already carried its outcome) and is dropped.
    var isrRequest: (request: UInt64, sentAtMs: Int64)?
    /// The lowest damaged batch a read of this log found, until it is cut away
    /// (`PartitionReplica.damage`), and the last report of it to the controller.
    var damage: LogCorruption?
    var damageReport: (partitionEpoch: PartitionEpoch, atMs: Int64)?
    /// Where the scrub reads on (`PartitionReplica.scrub`).
    var scrubCursor = Offset.zero
    /// Ground truth, which the replica does not know: the base offset of a batch the
    /// simulation damaged, until a truncation cuts it away. Convergence waits for it.
    var injectedDamage: Offset?

    init(log: PartitionLog) { self.log = log }
}

/// One batch as stored: equal identities mean the same records at the same offsets.
struct BatchID: Hashable, CustomStringConvertible {
    var baseOffset: Offset
    var lastOffset: Offset
    var leaderEpoch: LeaderEpoch
    /// CRC-32C over the batch from its attributes on (records included).
    var crc: UInt32

    init(baseOffset: Offset, lastOffset: Offset, leaderEpoch: LeaderEpoch, crc: UInt32) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.leaderEpoch = leaderEpoch
        self.crc = crc
    }

    init(_ batch: RecordBatch) {
        baseOffset = batch.baseOffset
        lastOffset = batch.lastOffset
        leaderEpoch = batch.partitionLeaderEpoch
        crc = batch.crc
    }

    var description: String { "[\(baseOffset)…\(lastOffset) e\(leaderEpoch) crc \(String(crc, radix: 16))]" }
}
