import SluiceCore
import SluiceRaft

extension Simulation {
    /// Start (or restart) node `k` from its disk.
    mutating func start(_ k: Int) {
        if options.bug == .forgetVoteOnRestart && nodes[k].restarts > 0 { nodes[k].disk.forgetVote() }
        let state = nodes[k].disk.recoveredState
        let seed = options.seed ^ (UInt64(UInt32(bitPattern: nodes[k].id.rawValue)) << 32) ^ UInt64(nodes[k].restarts)
        nodes[k].raft = RaftNode(
            id: nodes[k].id, configuration: nodes[k].configuration, options: options.raftOptions,
            random: SplitMix64(seed: seed), restoring: state)
        nodes[k].stateMachine = state.snapshot.map { ReplicatedStateMachine(snapshotData: $0.data) } ?? ReplicatedStateMachine()
        nodes[k].pendingReady = nil
        nodes[k].proposals = [:]
    }

    mutating func crash(_ k: Int) {
        let unsynced = nodes[k].disk.unsynced.count
        let kept = unsynced == 0 ? 0 : Int(random.next(below: UInt64(unsynced + 1)))
        nodes[k].disk.crash(keeping: kept)
        nodes[k].raft = nil
        nodes[k].pendingReady = nil
        crashes += 1
        if unsynced > 0 { tornCrashes += 1 }
        record("crash n\(nodes[k].id) (kept \(kept) of \(unsynced) unsynced records)")
    }

    mutating func restart(_ k: Int) {
        nodes[k].restarts += 1
        start(k)
        let r = nodes[k].raft!
        record("restart n\(r.id): \(r.hardState), log \(r.firstIndex)…\(r.lastIndex)")
        afterStep(k)
    }

    mutating func injectFaults() {
        if chance(options.proposalRate) { proposeSomewhere() }
        for k in nodes.indices {
            if nodes[k].isUp {
                if chance(options.crashRate) { crash(k) }
            } else if chance(options.restartRate) {
                restart(k)
            }
        }
        if chance(options.partitionRate) { partition() }
        if chance(options.healRate) && !network.cut.isEmpty {
            network.healAll()
            record("heal all partitions")
        }
        if chance(options.compactionRate) { compact(Int(random.next(below: UInt64(nodes.count)))) }
        if chance(options.transferRate) { transfer() }
    }

    /// Propose at a random node; on a refusal, follow the leader hint once, as a client would.
    mutating func proposeSomewhere() {
        var k = Int(random.next(below: UInt64(nodes.count)))
        for _ in 0..<2 {
            guard nodes[k].isUp else { return }
            proposalCounter += 1
            let payload = Array("p\(proposalCounter)".utf8)
            do {
                let (i, t) = try nodes[k].raft!.propose(payload)
                nodes[k].proposals[i] = t
                afterStep(k)
                return
            } catch .notLeader(let hint?) {
                guard let h = index(of: hint) else { return }
                k = h
            } catch {
                return
            }
        }
    }

    mutating func partition() {
        let n = nodes.count
        switch random.next(below: 3) {
        case 0:
            let a = nodes[Int(random.next(below: UInt64(n)))].id
            for b in nodes.map(\.id) where b != a {
                network.cut(a, b)
                network.cut(b, a)
            }
            record("isolate n\(a)")
        case 1:
            var side: [NodeID: Bool] = [:]
            for node in nodes { side[node.id] = random.next(below: 2) == 0 }
            for a in nodes.map(\.id) {
                for b in nodes.map(\.id) where side[a] != side[b] { network.cut(a, b) }
            }
            record("split \(nodes.map(\.id).filter { side[$0]! }) | \(nodes.map(\.id).filter { !side[$0]! })")
        default:
            let a = nodes[Int(random.next(below: UInt64(n)))].id
            let b = nodes[Int(random.next(below: UInt64(n)))].id
            guard a != b else { return }
            network.cut(a, b)
            record("cut one way n\(a)→n\(b)")
        }
    }

    mutating func compact(_ k: Int) {
        guard nodes[k].isUp else { return }
        let applied = nodes[k].stateMachine.index
        guard applied == nodes[k].raft!.appliedIndex,
              let s = nodes[k].raft!.compact(through: applied, snapshotData: nodes[k].stateMachine.snapshotData)
        else { return }
        nodes[k].disk.compact(to: s)
        record("n\(nodes[k].id) compacted through \(s.index)@\(s.term)")
    }

    mutating func transfer() {
        guard let k = nodes.indices.first(where: { nodes[$0].raft?.role == .leader }) else { return }
        let voters = nodes[k].configuration.voters
        let target = voters[Int(random.next(below: UInt64(voters.count)))]
        guard target != nodes[k].id else { return }
        do {
            try nodes[k].raft!.transferLeadership(to: target)
            record("n\(nodes[k].id) transfers leadership to n\(target)")
            afterStep(k)
        } catch {}
    }

    /// Heal everything and check that a leader emerges and commits a new entry, and that
    /// every node then applies it.
    mutating func runLivenessPhase() {
        network.healAll()
        calm = true
        for k in nodes.indices where !nodes[k].isUp { restart(k) }
        record("liveness phase: healed, calm network, all nodes up")
        let start = now
        var probe: (node: Int, index: RaftIndex, term: RaftTerm)?
        var committedAt: Int?
        while checker.violation == nil {
            if let p = probe, checker.isApplied(index: p.index, term: p.term) {
                if committedAt == nil {
                    committedAt = now
                    record("liveness: \(p.index)@\(p.term) committed and applied by n\(nodes[p.node].id)")
                }
                if nodes.allSatisfy({ $0.stateMachine.index >= p.index }) {
                    record("liveness: \(p.index)@\(p.term) applied on every node")
                    return
                }
            }
            if committedAt == nil && now - start >= options.livenessTicksMax {
                reportStuck("no leader committed a new entry within \(options.livenessTicksMax) ticks after healing")
                return
            }
            if now - start >= options.convergenceTicksMax {
                reportStuck("not every node applied the new entry within \(options.convergenceTicksMax) ticks after healing")
                return
            }
            // (Re)propose when there is no probe yet or its leader lost its term.
            let probeAlive = probe.map { nodes[$0.node].raft?.role == .leader && nodes[$0.node].raft?.term == $0.term } ?? false
            if committedAt == nil && !probeAlive,
               let k = nodes.indices.first(where: { nodes[$0].raft?.role == .leader }) {
                proposalCounter += 1
                if let (i, t) = try? nodes[k].raft!.propose(Array("live\(proposalCounter)".utf8)) {
                    probe = (k, i, t)
                    nodes[k].proposals[i] = t
                    record("liveness proposal at n\(nodes[k].id): \(i)@\(t)")
                    afterStep(k)
                }
            }
            runTick()
        }
    }

    private mutating func reportStuck(_ what: String) {
        let states = nodes.map { n in
            n.raft.map { "n\($0.id) \($0.role) t\($0.term) last \($0.lastIndex) commit \($0.raftCommitIndex) applied \(n.stateMachine.index)" } ?? "n\(n.id) down"
        }
        checker.reportLiveness("Liveness: \(what) [\(states.joined(separator: "; "))]")
    }
}
