import SluiceCore
import SluiceMetadata
import SluiceStorage
import SluiceWire

/// Crashes, restarts, pauses, cut-off nodes and leader moves during the fault phase; then
/// healing and the convergence check.
extension ReplicationSimulation {
    mutating func faultStep() {
        guard !faultsOver else { return }
        currentEvent = "a fault step"
        queue.push(.faultStep, at: now + options.faultStepMs)
        let t = now
        if random.nextDouble() < options.crashRate, let b = randomBroker({ $0.up }) { crash(b) }
        if random.nextDouble() < options.pauseRate, let b = randomBroker({ $0.up && $0.pausedUntilMs <= t }) {
            brokers[b].pausedUntilMs = now + delay(200, 1_500)
            note("broker \(brokers[b].id) pauses until \(brokers[b].pausedUntilMs)")
        }
        if random.nextDouble() < options.isolateRate, let b = randomBroker({ $0.up && $0.isolatedUntilMs <= t }) {
            brokers[b].isolatedUntilMs = now + delay(300, 2_000)
            note("broker \(brokers[b].id) is cut off until \(brokers[b].isolatedUntilMs)")
        }
        if options.bitFlipRate > 0, random.nextDouble() < options.bitFlipRate, let b = randomBroker({ $0.up }) { flipBit(b) }
        if random.nextDouble() < options.leaderMoveRate {
            let p = Int(random.next(below: UInt64(options.partitionCount)))
            let leader = controller.image.partition(topicPartition(p))!.leader
            if leader != .none, brokers[index(leader)].up {
                brokers[index(leader)].heartbeatsMutedUntilMs = now + options.brokerSessionTimeoutMs + delay(100, 500)
                note("leader move: broker \(leader) (leader of p\(p)) stops heartbeating until \(brokers[index(leader)].heartbeatsMutedUntilMs)")
            }
        }
    }

    mutating func randomBroker(_ matching: (SimBroker) -> Bool) -> Int? {
        let candidates = brokers.indices.filter { matching(brokers[$0]) }
        guard !candidates.isEmpty else { return nil }
        return candidates[Int(random.next(below: UInt64(candidates.count)))]
    }

    /// Power loss: every file keeps its synced bytes and a random prefix of the rest, maybe
    /// torn; every in-memory state is gone.
    mutating func crash(_ b: Int) {
        crashes += 1
        brokers[b].up = false
        brokers[b].generation += 1
        brokers[b].batchesAtCrash = brokers[b].replicas.map(\.batches)
        for p in brokers[b].replicas.indices {
            brokers[b].replicas[p].log.closeUncleanly()
            brokers[b].replicas[p].leader = nil
            brokers[b].replicas[p].follower = nil
        }
        brokers[b].fileSystem.crash(using: &random)
        let at = now + delay(200, 1_500)
        note("broker \(brokers[b].id) crashes; restarts at \(at)")
        queue.push(.restart(brokers[b].id), at: at)
    }

    /// A new incarnation: logs recovered from what the crash left, no replication state until
    /// the metadata arrives, and a registration the controller answers by fencing.
    mutating func restart(_ id: NodeID) {
        let b = index(id)
        guard !brokers[b].up else { return }
        var lost: [Int] = []
        for p in 0..<options.partitionCount {
            guard let log = openLog(id, p, fileSystem: brokers[b].fileSystem),
                let recovered = readAllBatches(log, id, p, known: brokers[b].batchesAtCrash[p])
            else { return }
            let before = brokers[b].batchesAtCrash[p]
            guard recovered.count <= before.count, Array(before.prefix(recovered.count)) == recovered else {
                return fail("broker \(id) p\(p) recovered batches \(recovered.suffix(3)) that are not a prefix of what it held, \(before.suffix(3))")
            }
            if recovered.count < before.count {
                lost.append(p)
                checker.lossyCrash(p, id, nowMs: now)
            }
            var replica = SimReplica(log: log)
            replica.batches = recovered
            // The damage stays on disk unless recovery cut the tail it was in.
            replica.injectedDamage = brokers[b].replicas[p].injectedDamage.flatMap { $0 < log.logEndOffset ? $0 : nil }
            brokers[b].replicas[p] = replica
        }
        if !lost.isEmpty { lossyCrashes += 1 }
        brokers[b].up = true
        // Messages sent to the dead incarnation are lost with its connections.
        brokers[b].generation += 1
        brokers[b].incarnation = KafkaUUID(high: UInt64(id.rawValue), low: random.next())
        brokers[b].metadataVersion = 0
        brokers[b].image = .empty
        brokers[b].pausedUntilMs = 0
        brokers[b].heartbeatsMutedUntilMs = 0
        note("broker \(id) restarts; lost unsynced batches of partitions \(lost); log ends \(brokers[b].replicas.map(\.log.logEndOffset))")
        queue.push(.heartbeat(id, generation: brokers[b].generation), at: now + 1)
        queue.push(.brokerTick(id, generation: brokers[b].generation), at: now + delay(1, Self.brokerTickMs))
        for p in 0..<options.partitionCount { checkPartition(p) }
    }

    /// Faults stop: every node comes back, every link heals, producers stop; the cluster then
    /// has `healingBoundMs` to converge.
    mutating func heal() {
        healed = true
        note("healing: every broker up, the network whole, producers stopped")
        for b in brokers.indices {
            brokers[b].pausedUntilMs = min(brokers[b].pausedUntilMs, now)
            brokers[b].isolatedUntilMs = 0
            brokers[b].heartbeatsMutedUntilMs = 0
            if !brokers[b].up { restart(brokers[b].id) }
        }
        queue.push(.livenessCheck, at: now + 500)
    }

    mutating func livenessCheck() {
        guard convergenceProblem() == nil else {
            queue.push(.livenessCheck, at: now + 200)
            return
        }
        for p in 0..<options.partitionCount {
            let leader = controller.image.partition(topicPartition(p))!.leader
            if leader == .none {
                note("p\(p) stays leaderless: \(leaderlessReasons[p]!)")
                continue
            }
            for b in brokers.indices {
                guard let onDisk = readAllBatches(brokers[b].replicas[p].log, brokers[b].id, p) else { return }
                if onDisk != brokers[b].replicas[p].batches {
                    return fail("broker \(brokers[b].id) p\(p): the simulation's copy of the log differs from the files")
                }
            }
            if let v = checker.finalCheck(p, batches: brokers[index(leader)].replicas[p].batches, nowMs: now) { return fail(v) }
        }
        note("converged: every partition has a leader, its full ISR and identical logs")
        livenessReached = true
    }

    /// Why the healed cluster has not converged yet, or nil once it has: every partition has
    /// a leader leading at the image's epoch with every replica in its ISR, and every replica
    /// holds the leader's batches with its HW at the log end.
    func convergenceProblem() -> String? {
        for p in 0..<options.partitionCount {
            let state = controller.image.partition(topicPartition(p))!
            if state.leader == .none, leaderlessReasons[p] != nil { continue }
            guard state.leader != .none else { return "p\(p) has no leader (ISR \(state.isr))" }
            guard Set(state.isr) == Set(state.replicas) else {
                return "p\(p) ISR \(state.isr) of replicas \(state.replicas); " + replicaReport(p)
            }
            let leader = brokers[index(state.leader)]
            guard leader.up, let leaderState = leader.replicas[p].leader, leaderState.leaderEpoch == state.leaderEpoch else {
                return "p\(p): broker \(state.leader) does not lead at epoch \(state.leaderEpoch) yet"
            }
            let end = leader.replicas[p].log.logEndOffset
            for id in state.replicas {
                if let damaged = brokers[index(id)].replicas[p].injectedDamage {
                    return "p\(p): broker \(id) still holds the damaged batch at \(damaged)"
                }
                let replica = brokers[index(id)].replicas[p]
                guard brokers[index(id)].up, replica.batches == leader.replicas[p].batches else {
                    return "p\(p): broker \(id) log end \(replica.log.logEndOffset), leader's \(end)"
                }
                guard replica.log.highWatermark == end else { return "p\(p): broker \(id) HW \(replica.log.highWatermark) below \(end)" }
            }
        }
        return nil
    }

    /// Each replica's view of partition `p`, for a liveness failure.
    func replicaReport(_ p: Int) -> String {
        brokers.map { broker in
            let r = broker.replicas[p]
            let role = r.leader.map { "leader e\($0.leaderEpoch) ISR \($0.isr) pending \($0.pendingISR.map { "\($0)" } ?? "-") HW \($0.highWatermark) followers \($0.followers.mapValues(\.logEndOffset))" }
                ?? r.follower.map { "follower of \($0.leader) e\($0.leaderEpoch) \($0.phase)" } ?? "no role"
            return "broker \(broker.id)\(broker.up ? "" : " (down)"): log end \(r.log.logEndOffset) HW \(r.log.highWatermark), \(role)"
        }.joined(separator: "; ")
    }

    /// After every event touching partition `p`: each replica's batches below its HW agree with
    /// the committed log.
    mutating func checkPartition(_ p: Int) {
        for b in brokers.indices where brokers[b].up {
            let replica = brokers[b].replicas[p]
            guard replica.checkedBatches < replica.batches.count,
                replica.batches[replica.checkedBatches].lastOffset < replica.log.highWatermark
            else { continue }
            var checked = replica.checkedBatches
            let v = checker.coverBelowHighWatermark(
                p, brokers[b].id, batches: replica.batches, highWatermark: replica.log.highWatermark, checked: &checked, nowMs: now)
            brokers[b].replicas[p].checkedBatches = checked
            if let v { return fail(v) }
        }
    }
}
