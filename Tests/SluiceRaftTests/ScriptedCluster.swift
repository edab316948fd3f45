import SluiceCore
import SluiceRaft

/// A synchronous in-memory cluster for scripted scenarios (etcd/raft's `network` in its
/// tests): every Ready is persisted at once, messages are delivered in FIFO order unless a
/// link is cut or a drop rule matches, and everything delivered is recorded for assertions.
struct ScriptedCluster {
    var nodes: [NodeID: RaftNode] = [:]
    /// What each node persisted (its "disk").
    var storage: [NodeID: RaftPersistentState] = [:]
    /// Entries each node applied, in order (leader-change entries included).
    var applied: [NodeID: [RaftEntry]] = [:]
    var restoredSnapshots: [NodeID: [RaftSnapshot]] = [:]
    var queue: [RaftMessage] = []
    var delivered: [RaftMessage] = []
    var cutLinks: Set<[NodeID]> = []
    var dropRule: (RaftMessage) -> Bool = { _ in false }
    let configuration: RaftConfiguration
    let options: RaftOptions

    init(voters: [NodeID], learners: [NodeID] = [], options: RaftOptions = RaftOptions(),
         preset: [NodeID: RaftPersistentState] = [:]) {
        configuration = RaftConfiguration(voters: voters, learners: learners)
        self.options = options
        for id in configuration.members {
            storage[id] = preset[id] ?? .empty
            applied[id] = []
            start(id)
        }
    }

    mutating func start(_ id: NodeID) {
        let state = storage[id]!
        nodes[id] = RaftNode(id: id, configuration: configuration, options: options,
                             random: SplitMix64(seed: UInt64(id.rawValue) * 7919), restoring: state)
    }

    subscript(_ id: NodeID) -> RaftNode { nodes[id]! }

    var leader: NodeID? { nodes.values.filter { $0.role == .leader }.max { $0.term < $1.term }?.id }

    // MARK: faults

    mutating func isolate(_ id: NodeID) {
        for other in configuration.members where other != id {
            cutLinks.insert([id, other])
            cutLinks.insert([other, id])
        }
    }

    mutating func heal() {
        cutLinks = []
        dropRule = { _ in false }
    }

    // MARK: driving

    /// Persist, send and apply whatever `id` has ready, as a driver would.
    mutating func drain(_ id: NodeID) {
        while nodes[id]!.hasReady {
            let ready = nodes[id]!.ready()
            var disk = storage[id]!
            if let s = ready.snapshot {
                disk.snapshot = s
                disk.entries = []
                restoredSnapshots[id, default: []].append(s)
            }
            if let first = ready.entries.first {
                let base = disk.snapshot?.index ?? .zero
                disk.entries.removeSubrange(Int(first.index.rawValue - base.rawValue - 1)...)
                disk.entries += ready.entries
            }
            if let hs = ready.hardState { disk.hardState = hs }
            storage[id] = disk
            queue += ready.messages
            applied[id]! += ready.committedEntries
            nodes[id]!.advance(ready)
        }
    }

    mutating func deliverOne() -> Bool {
        guard !queue.isEmpty else { return false }
        let m = queue.removeFirst()
        if cutLinks.contains([m.from, m.to]) || dropRule(m) { return true }
        delivered.append(m)
        nodes[m.to]?.step(m)
        drain(m.to)
        return true
    }

    /// Run until no node has anything to do and no message is in flight.
    mutating func stabilize(stepsMax: Int = 100_000) {
        for id in configuration.members { drain(id) }
        var steps = 0
        while deliverOne() {
            steps += 1
            precondition(steps < stepsMax, "cluster did not stabilize")
        }
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times {
            nodes[id]!.tick()
            stabilize()
        }
    }

    mutating func tickAll(times: Int, except: Set<NodeID> = []) {
        for _ in 0..<times {
            for id in configuration.members where !except.contains(id) { nodes[id]!.tick() }
            stabilize()
        }
    }

    mutating func campaign(_ id: NodeID) {
        nodes[id]!.campaign()
        stabilize()
    }

    @discardableResult
    mutating func propose(_ id: NodeID, _ text: String) throws(ProposalError) -> (index: RaftIndex, term: RaftTerm) {
        let r = try nodes[id]!.propose(Array(text.utf8))
        stabilize()
        return r
    }

    /// The terms of `id`'s log from its first index on.
    func logTerms(_ id: NodeID) -> [RaftTerm] {
        let n = nodes[id]!
        guard n.lastIndex >= n.firstIndex else { return [] }
        return (n.firstIndex.rawValue...n.lastIndex.rawValue).map { n.term(at: RaftIndex($0))! }
    }

    func appliedData(_ id: NodeID) -> [String] {
        applied[id]!.filter { $0.kind == .normal }.map { String(decoding: $0.data, as: UTF8.self) }
    }
}

/// A persisted log whose entries have the given terms, from index 1.
func persistedLog(terms: [UInt64], term: UInt64? = nil, vote: NodeID? = nil) -> RaftPersistentState {
    let entries = terms.enumerated().map { RaftEntry(term: RaftTerm($0.element), index: RaftIndex(UInt64($0.offset + 1)), data: Array("e\($0.offset + 1)".utf8)) }
    return RaftPersistentState(hardState: HardState(term: RaftTerm(term ?? terms.last ?? 0), vote: vote), entries: entries)
}

extension RaftMessage {
    var isAppend: Bool { if case .append = body { true } else { false } }
    var isVoteRequest: Bool {
        switch body {
        case .vote, .preVote: true
        default: false
        }
    }
}
