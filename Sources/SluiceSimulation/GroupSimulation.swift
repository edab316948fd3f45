import SluiceCore
import SluiceWire
@_spi(Testing) import SluiceMetadata

/// A seeded simulation of the consumer-group coordinator (issue 7): a metadata log whose
/// committed entries build a `MetadataImage`, a `GroupCoordinator` driven as the broker
/// drives it, and simulated consumers following the classic protocol, with random joins,
/// leaves, crashes, long pauses (zombies), static-member restarts and controller failovers.
/// `GroupSimulationChecker` checks every step; the same seed always replays the same run.
///
/// Model: a request reaches the coordinator after a network delay; each output's records
/// become one log entry that commits after a random delay, strictly in order; its replies
/// travel back once it has committed. A failover drops the coordinator: a random prefix of
/// the uncommitted entries still commits, the rest is lost, and every request the old
/// coordinator had not answered gets NOT_COORDINATOR. A new coordinator is built from the
/// image after a pause.
public struct GroupSimulation {
    enum Event {
        case faultStep
        case tick(UInt64)
        case commitDue(epoch: Int)
        case activate(epoch: Int)
        case arrive(SimRequest)
        case deliver(consumer: Int, SimReply)
        case wake(consumer: Int)
        case startConsumer(group: Int, instanceID: String?)
        case livenessCheck
    }

    /// An output waiting for its entry (and every earlier one) to commit.
    struct PendingOutput {
        var records: [MetadataRecord]
        var replies: [GroupReply]
        var commitAtMs: Int64
    }

    let options: GroupSimulationOptions
    var random: SplitMix64
    var queue = GroupEventQueue<Event>()
    var now: Int64 = 0
    var trace: EventTrace
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    var violation: String?
    /// The event being handled, named in a violation.
    var currentEvent = "start"

    // The metadata log and the coordinator.
    var image = MetadataImage.empty
    var term = RaftTerm(1)
    var coordinator: GroupCoordinator?
    var epoch = 0
    var pending: [PendingOutput] = []
    /// Entries that survive the last failover, applied when the next coordinator activates,
    /// and the requests their replies answer (checked, never delivered).
    var survivors: [PendingOutput] = []
    var survivorRequests: [GroupRequestToken: SimRequest] = [:]
    /// Requests the current coordinator has not answered yet, by token.
    var outstanding: [GroupRequestToken: SimRequest] = [:]
    var nextToken: GroupRequestToken = 1
    var tickGeneration: UInt64 = 0
    var tickAtMs: Int64 = .max

    // The world the consumers live in.
    var topics: [(name: TopicName, partitions: Int32)] = []
    var groups: [SimGroup] = []
    var consumers: [SimConsumer] = []
    var checker = GroupSimulationChecker()

    // Statistics.
    var committedEntries = 0
    var failovers = 0
    var crashes = 0
    var pauses = 0
    var staticRestarts = 0

    var faultsOver: Bool { now >= options.faultPhaseMs }
    var wallMs: Int64 { 1_700_000_000_000 + now }

    public init(options: GroupSimulationOptions) {
        self.options = options
        random = SplitMix64(seed: options.seed)
        trace = EventTrace(capacity: options.traceEventsMax)
        let topicCount = 1 + Int(random.next(below: 3))
        for t in 0..<topicCount {
            guard let name = TopicName(rawValue: "topic-\(t)") else { preconditionFailure("topic-\(t) is a legal topic name") }
            topics.append((name, 1 + Int32(random.next(below: 12))))
        }
        let groupCount = 1 + Int(random.next(below: 3))
        for g in 0..<groupCount {
            var subscribed = (0..<topicCount).filter { _ in random.next(below: 2) == 0 }
            if subscribed.isEmpty { subscribed = [Int(random.next(below: UInt64(topicCount)))] }
            let session = Int32(1_500 + random.next(below: 2_500))
            groups.append(
                SimGroup(
                    id: "group-\(g)", topics: subscribed, sessionTimeoutMs: session,
                    rebalanceTimeoutMs: session + Int32(random.next(below: 2_000))))
        }
        activateCoordinator()
        for g in groups.indices {
            for _ in 0...random.next(below: 3) {
                queue.push(.startConsumer(group: g, instanceID: nil), at: Int64(random.next(below: 500)))
            }
        }
        queue.push(.faultStep, at: options.faultStepMs)
        queue.push(.livenessCheck, at: options.faultPhaseMs)
    }

    /// Runs the whole simulation.
    public static func run(_ options: GroupSimulationOptions) -> Result {
        var sim = GroupSimulation(options: options)
        return sim.run()
    }

    mutating func run() -> Result {
        let endMs = options.faultPhaseMs + options.livenessBoundMs
        while violation == nil, !checker.livenessReached, let (time, event) = queue.pop() {
            guard time <= endMs else { break }
            now = time
            currentEvent = event.summary
            handle(event)
        }
        if violation == nil && !checker.livenessReached {
            fail("liveness: not every live group was Stable with its live members \(options.livenessBoundMs) ms after faults stopped: \(livenessReport())")
        }
        return Result(
            seed: options.seed, violation: violation, trace: trace.lines, digest: digest, committedEntries: committedEntries,
            acknowledgedCommits: checker.acknowledgedCommits, generations: checker.generationsSeen, failovers: failovers,
            crashes: crashes, pauses: pauses, staticRestarts: staticRestarts)
    }

    mutating func handle(_ event: Event) {
        switch event {
        case .faultStep: faultStep()
        case .tick(let generation): if generation == tickGeneration { runTick() }
        case .commitDue(let e): if e == epoch { commitDue() }
        case .activate(let e): if e == epoch { activateCoordinator() }
        case .arrive(let request): arrive(request)
        case .deliver(let consumer, let reply): deliver(reply, to: consumer)
        case .wake(let consumer): wake(consumer)
        case .startConsumer(let group, let instanceID): startConsumer(group: group, instanceID: instanceID)
        case .livenessCheck: livenessCheck()
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

    mutating func networkDelay() -> Int64 { delay(1, 5) }
}

extension GroupSimulation.Event {
    /// A short name for violation reports.
    var summary: String {
        switch self {
        case .faultStep: "a fault step"
        case .tick: "a coordinator tick"
        case .commitDue: "a log commit"
        case .activate: "a coordinator activation"
        case .arrive(let r): "the arrival of request \(r.token) from c\(r.consumer)"
        case .deliver(let c, _): "a reply to c\(c)"
        case .wake(let c): "a wake-up of c\(c)"
        case .startConsumer(let g, _): "a consumer start in group \(g)"
        case .livenessCheck: "a liveness check"
        }
    }
}

/// A consumer group of the simulation: its topics and its members' timeouts.
struct SimGroup {
    let id: String
    /// Indexes into `GroupSimulation.topics`, ascending.
    let topics: [Int]
    let sessionTimeoutMs: Int32
    let rebalanceTimeoutMs: Int32
}
