import SluiceCore
import SluiceMetadata
import SluiceReplication
import SluiceWire

/// The controller process (node 0): the real `Controller`, with every decision committed at
/// once, and the image broadcast to the brokers after each change.
extension ReplicationSimulation {
    mutating func controllerTick() {
        let output = controller.tick(nowMs: now)
        if !output.result.isEmpty { note("controller fences \(output.result)") }
        adopt(output.records)
        queue.push(.controllerTick, at: now + 100)
    }

    mutating func controllerHeard(_ heartbeat: BrokerHeartbeat) {
        let output = controller.brokerHeartbeat(heartbeat, nowMs: now)
        let restarted = output.records.contains { if case .registerBroker = $0 { true } else { false } }
        if restarted {
            note("controller registers broker \(heartbeat.nodeID) (new incarnation), fenced")
            removeFromISRs(heartbeat.nodeID)
        } else if output.records.contains(where: { if case .unfenceBroker = $0 { true } else { false } }) {
            note("controller unfences broker \(heartbeat.nodeID)")
        }
        adopt(output.records)
        // The answer carries the image, so a broker that missed a broadcast catches up.
        send(.metadata(controller.image, version: metadataVersion), from: Self.controllerID, to: heartbeat.nodeID)
    }

    mutating func controllerAlterPartition(_ p: Int, _ request: SluiceMetadata.AlterPartitionRequest,
                                           incarnations: [NodeID: BrokerIncarnation], id: UInt64) {
        // KIP-903, which the real `Controller` does not check yet: an expansion justified by
        // the fetches of a broker's earlier incarnation is refused; the leader may not know
        // of the restart, or may be sending again a proposal older than it. Checked, as in
        // Kafka, only for a request at the current epochs: a stale one is refused as stale.
        let state = controller.image.partition(topicPartition(p))!
        let current = request.leaderEpoch == state.leaderEpoch && request.partitionEpoch == state.partitionEpoch
        for (member, incarnation) in incarnations.sorted(by: { $0.key < $1.key }) where current {
            guard let registered = controller.image.brokers[member]?.incarnation,
                registered.high != incarnation.high || registered.low != incarnation.low
            else { continue }
            let why = "broker \(member) has registered anew since the fetches that justified adding it"
            note("controller refuses AlterPartition p\(p) from \(request.leaderID): \(why)")
            send(.alterPartitionAnswer(partition: p, request: id, .rejected(.ineligibleReplica, why)),
                 from: Self.controllerID, to: request.leaderID)
            return
        }
        let output = controller.alterPartition(request)
        switch output.result {
        case .accepted(let state):
            isrChanges += 1
            note("controller: p\(p) ISR \(state.isr) at partition epoch \(state.partitionEpoch) (asked by \(request.leaderID))")
        case .rejected(let code, let why):
            note("controller refuses AlterPartition p\(p) from \(request.leaderID): \(code) \(why)")
        }
        adopt(output.records)
        send(.alterPartitionAnswer(partition: p, request: id, output.result),
             from: Self.controllerID, to: request.leaderID)
    }

    /// A decision's records are committed: note the elections, apply the injected election
    /// bug, and tell every broker.
    mutating func adopt(_ records: [MetadataRecord]) {
        guard !records.isEmpty else { return }
        for record in records {
            guard case .partitionChange(let change) = record, let leader = change.leader else { continue }
            let state = controller.image.partition(topicPartition(Int(change.partition.rawValue)))!
            note("controller elects \(leader) for p\(change.partition): epoch \(state.leaderEpoch), ISR \(state.isr)")
        }
        if options.bug == .electOutsideISR { electOutsideISR(after: records) }
        keepLeaderless(after: records)
        metadataVersion += 1
        broadcastMetadata()
    }

    mutating func broadcastMetadata() {
        for broker in brokers where broker.up {
            send(.metadata(controller.image, version: metadataVersion), from: Self.controllerID, to: broker.id)
        }
    }

    /// A restarted broker lost its in-memory state and maybe the unsynced tail of every log,
    /// so it may no longer count towards any high watermark: it leaves every ISR it is in
    /// (other than as the sole member), as KRaft's controller does on an unclean restart.
    /// The real `Controller` only moves the leaderships of a restarted broker; the simulation
    /// makes the rest of the change itself (see `rebuildController`), so the check of what
    /// acks=all promises stays a check of the replication core.
    mutating func removeFromISRs(_ id: NodeID) {
        var changes: [PartitionChangeRecord] = []
        for p in 0..<options.partitionCount {
            let state = controller.image.partition(topicPartition(p))!
            if state.isr == [id] && !state.hasLeader && options.flush != .always {
                let why = "its only in-sync replica, broker \(id), restarted uncleanly and may have lost unsynced batches"
                if leaderlessReasons[p] == nil { note("controller keeps p\(p) leaderless: \(why)") }
                leaderlessReasons[p] = why
            }
            guard state.isr.contains(id), state.isr.count > 1, state.leader != id else { continue }
            let topicID = controller.image.topic(named: Self.topic)!.topicID
            changes.append(PartitionChangeRecord(
                topicID: topicID, partition: PartitionIndex(Int32(p)), partitionEpoch: state.partitionEpoch.next,
                isr: state.isr.filter { $0 != id }))
            note("controller removes restarted broker \(id) from the ISR of p\(p)")
        }
        rebuildController(applying: changes)
    }

    /// With `flush = none`, a partition whose only in-sync replica restarted uncleanly
    /// stays leaderless, with the reason, rather than led by a replica that may have lost
    /// acknowledged batches (KIP-966's rule; unclean election stays an operator's decision).
    /// The real `Controller` elects it when it unfences; the simulation reverts that election
    /// before any broker sees it.
    mutating func keepLeaderless(after records: [MetadataRecord]) {
        var changes: [PartitionChangeRecord] = []
        for record in records {
            guard case .partitionChange(let change) = record, let leader = change.leader, leader != .none,
                leaderlessReasons[Int(change.partition.rawValue)] != nil
            else { continue }
            let state = controller.image.partition(topicPartition(Int(change.partition.rawValue)))!
            guard state.leader == leader else { continue }
            changes.append(PartitionChangeRecord(
                topicID: change.topicID, partition: change.partition, partitionEpoch: state.partitionEpoch.next, leader: NodeID.none))
            note("controller withdraws the election of \(leader) for p\(change.partition): \(leaderlessReasons[Int(change.partition.rawValue)]!)")
        }
        rebuildController(applying: changes)
    }

    /// The injected bug: every election the controller just made is replaced by one of an
    /// unfenced replica outside the ISR, when there is one.
    mutating func electOutsideISR(after records: [MetadataRecord]) {
        var changes: [PartitionChangeRecord] = []
        for record in records {
            guard case .partitionChange(let change) = record, let leader = change.leader, leader != .none else { continue }
            let p = Int(change.partition.rawValue)
            let state = controller.image.partition(topicPartition(p))!
            guard let outsider = state.replicas.first(where: { !state.isr.contains($0) && controller.image.isUnfenced($0) })
            else { continue }
            changes.append(PartitionChangeRecord(
                topicID: change.topicID, partition: change.partition, partitionEpoch: state.partitionEpoch.next,
                leader: outsider, isr: state.isr + [outsider]))
            note("BUG electOutsideISR: p\(p) leader \(outsider), outside the ISR \(state.isr)")
        }
        rebuildController(applying: changes)
    }

    /// Applies partition changes the real `Controller` has no decision for, by starting a
    /// new controller from the changed image, as a controller failover does (the driver
    /// contract of `Controller`). Every unfenced broker's lease restarts now, which can only
    /// delay a fencing.
    mutating func rebuildController(applying changes: [PartitionChangeRecord]) {
        guard !changes.isEmpty else { return }
        var image = controller.image
        for change in changes {
            do {
                try image.apply(.partitionChange(change))
            } catch {
                fail("the image refuses the simulation's partition change \(change): \(error)")
                return
            }
        }
        controller = Controller(image: image, options: controllerOptions, nowMs: now, seed: random.next())
        metadataVersion += 1
        broadcastMetadata()
    }
}
