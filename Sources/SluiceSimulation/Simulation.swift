import SluiceCore
import SluiceRaft

/// A seeded, single-threaded simulation of a whole Raft group: simulated clock (ticks),
/// network and disks, random proposals and faults, and safety checks after every step
/// (TigerBeetle's VOPR, in small). The same seed always replays the same run.
public struct Simulation {
    public struct Result: Sendable {
        public let seed: UInt64
        /// The first safety or liveness violation, if any.
        public let violation: String?
        /// The last events before the end of the run (or the violation).
        public let trace: [String]
        public let ticks: Int
        public let acknowledgedProposals: Int
        public let committedEntries: Int
        public let crashes: Int
        public let tornCrashes: Int
        public let snapshotsInstalled: Int
        public let leaderTerms: Int
        public var passed: Bool { violation == nil }
    }

    let options: SimulationOptions
    var random: SplitMix64
    var nodes: [SimulatedNode] = []
    var network = SimulatedNetwork()
    var checker = SafetyChecker()
    var trace: EventTrace
    var now = 0
    var proposalCounter = 0
    var acknowledged = 0
    var crashes = 0
    /// Crashes that hit writes not yet fsynced.
    var tornCrashes = 0
    var snapshotsInstalled = 0
    var leaderTermsSeen: Set<RaftTerm> = []
    /// Liveness phase: no loss, duplication, long delays or reordering.
    var calm = false

    public init(options: SimulationOptions) {
        precondition([1, 3, 5].contains(options.voterCount), "3 or 5 voters (1 for tests)")
        self.options = options
        random = SplitMix64(seed: options.seed)
        trace = EventTrace(capacity: options.traceEventsMax)
        let voters = (1...options.voterCount).map { NodeID(Int32($0)) }
        let learners = (0..<options.learnerCount).map { NodeID(Int32(options.voterCount + 1 + $0)) }
        let full = RaftConfiguration(voters: voters, learners: learners)
        for id in full.members {
            let config = options.bug == .splitConfiguration && id == 1 ? RaftConfiguration(voters: [1]) : full
            nodes.append(SimulatedNode(id: id, configuration: config))
        }
        for k in nodes.indices { start(k) }
    }

    /// Run the fault phase, then the liveness phase, stopping at the first violation.
    public static func run(_ options: SimulationOptions) -> Result {
        var sim = Simulation(options: options)
        return sim.run()
    }

    public mutating func run() -> Result {
        record("start: \(options.voterCount) voters, \(options.learnerCount) learners, drop \(options.dropRate), dup \(options.duplicateRate), delay ≤\(options.maxDelayTicks), entries/append \(options.raftOptions.entriesPerAppendMax), window \(options.raftOptions.inflightAppendsMax), heartbeat \(options.raftOptions.heartbeatTicks) ticks, bug \(options.bug.rawValue)")
        while now < options.faultTicks && checker.violation == nil {
            injectFaults()
            runTick()
        }
        if checker.violation == nil { runLivenessPhase() }
        return Result(
            seed: options.seed, violation: checker.violation, trace: trace.lines, ticks: now,
            acknowledgedProposals: acknowledged, committedEntries: checker.history.count,
            crashes: crashes, tornCrashes: tornCrashes, snapshotsInstalled: snapshotsInstalled, leaderTerms: leaderTermsSeen.count)
    }

    // MARK: one tick

    mutating func runTick() {
        var due = network.takeDue(at: now)
        // A calm network is FIFO per link, like the TCP connection the real transport uses.
        if !calm { shuffle(&due) }
        for m in due where checker.violation == nil { deliver(m) }
        for k in nodes.indices where nodes[k].isUp && nodes[k].pendingReady != nil && nodes[k].fsyncDoneAt <= now {
            completeFsync(k)
        }
        for k in nodes.indices where nodes[k].isUp {
            if chance(options.tickSkipRate) { continue }
            nodes[k].raft!.tick()
            afterStep(k)
        }
        now += 1
    }

    mutating func deliver(_ m: RaftMessage) {
        guard let k = index(of: m.to), nodes[k].isUp, !network.isCut(m.from, m.to) else { return }
        if options.traceMessages { record("deliver \(m)") }
        if let lost = lostAcknowledgement(m, at: nodes[k].raft!) {
            // The core would stop here on a precondition (fail-stop on a broken invariant);
            // report it with the trace instead of crashing the whole run.
            record("deliver \(m)")
            checker.reportDurability(lost)
            return
        }
        nodes[k].raft!.step(m)
        afterStep(k)
    }

    /// Check safety, then let the node persist and act on whatever it has ready.
    mutating func afterStep(_ k: Int) {
        guard let raft = nodes[k].raft else { return }
        if raft.role == .leader && !leaderTermsSeen.contains(raft.term) {
            leaderTermsSeen.insert(raft.term)
            record("n\(raft.id) became leader of term \(raft.term) (last \(raft.lastIndex)@\(raft.lastTerm), commit \(raft.raftCommitIndex))")
        }
        checker.observeRole(of: raft)
        processReady(k)
    }

    mutating func processReady(_ k: Int) {
        while checker.violation == nil, nodes[k].isUp, nodes[k].pendingReady == nil, nodes[k].raft!.hasReady {
            let ready = nodes[k].raft!.ready()
            if !ready.entries.isEmpty {
                let first = ready.entries[0].index
                let prevTerm = ready.snapshot.map { $0.index == first.previous ? $0.term : nil }
                    ?? nodes[k].disk.term(at: first.previous)
                guard let prevTerm else { preconditionFailure("persisting entries with a gap before \(first)") }
                checker.observePersisted(ready.entries, prevTerm: prevTerm, node: nodes[k].id)
            }
            nodes[k].disk.write(ready)
            nodes[k].pendingReady = ready
            if options.bug == .sendBeforeFsync { for m in ready.messages { send(m) } }
            if chance(options.slowFsyncRate) {
                nodes[k].fsyncDoneAt = now + 1 + Int(random.next(below: 2))
                return
            }
            completeFsync(k)
        }
    }

    /// The fsync finished: now the node may send, apply, and advance.
    mutating func completeFsync(_ k: Int) {
        guard let ready = nodes[k].pendingReady else { return }
        nodes[k].disk.sync()
        nodes[k].pendingReady = nil
        let id = nodes[k].id
        if options.bug != .sendBeforeFsync { for m in ready.messages { send(m) } }
        if let s = ready.snapshot {
            nodes[k].stateMachine = ReplicatedStateMachine(snapshotData: s.data)
            snapshotsInstalled += 1
            record("n\(id) installed \(s)")
            checker.observeRestored(index: s.index, digest: nodes[k].stateMachine.digest, node: id)
        }
        for e in ready.committedEntries {
            nodes[k].stateMachine.apply(e)
            checker.observeApplied(e, node: id, digestAfter: nodes[k].stateMachine.digest)
            if let t = nodes[k].proposals.removeValue(forKey: e.index) {
                if t == e.term {
                    acknowledged += 1
                    if options.traceMessages { record("n\(id) acknowledged proposal \(e)") }
                } else {
                    record("n\(id) lost proposal \(e.index)@\(t): replaced by \(e)")
                }
            }
        }
        nodes[k].raft!.advance(ready)
        afterStep(k)
    }

    mutating func send(_ m: RaftMessage) {
        guard !network.isCut(m.from, m.to), calm || !chance(options.dropRate) else { return }
        let copies = !calm && chance(options.duplicateRate) ? 2 : 1
        for _ in 0..<copies {
            let delay = !calm && chance(options.longDelayRate)
                ? 1 + Int(random.next(below: UInt64(options.longDelayTicksMax)))
                : 1 + Int(random.next(below: UInt64(options.maxDelayTicks)))
            network.schedule(m, at: calm ? network.fifoTick(m.from, m.to, notBefore: now + delay) : now + delay)
        }
    }

    /// Whether `m` proves that `node` lost entries it had acknowledged: a commit index beyond
    /// its log, or a committed entry of its own that the leader's log contradicts.
    func lostAcknowledgement(_ m: RaftMessage, at node: RaftNode) -> String? {
        guard m.term >= node.term else { return nil }
        switch m.body {
        case .heartbeat(let commit) where commit > node.lastIndex:
            return "Durability: n\(node.id) was told entries up to \(commit) are committed and on it, but its log ends at \(node.lastIndex)"
        case .append(let prevIndex, let prevTerm, let entries, _) where node.term(at: prevIndex) == prevTerm:
            for e in entries where e.index <= node.raftCommitIndex {
                if let t = node.term(at: e.index), t != e.term {
                    return "Durability: n\(node.id) committed \(e.index)@\(t) but the leader n\(m.from) holds \(e)"
                }
            }
            return nil
        default:
            return nil
        }
    }

    // MARK: helpers

    mutating func chance(_ p: Double) -> Bool {
        p > 0 && Double(random.next() >> 11) * 0x1p-53 < p
    }

    mutating func shuffle(_ a: inout [RaftMessage]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, Int(random.next(below: UInt64(i + 1))))
        }
    }

    func index(of id: NodeID) -> Int? { nodes.firstIndex { $0.id == id } }

    mutating func record(_ s: String) { trace.record("[\(now)] \(s)") }
}
