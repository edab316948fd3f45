import SluiceCore
import SluiceWire
@_spi(Testing) import SluiceMetadata

extension GroupSimulation {
    /// One step of the fault phase: at most one random fault.
    mutating func faultStep() {
        guard !faultsOver else { return }
        queue.push(.faultStep, at: now + options.faultStepMs)
        let roll = Double(random.next(below: 1_000_000)) / 1_000_000
        let t = now
        var edge = 0.0
        func hit(_ rate: Double) -> Bool {
            defer { edge += rate }
            return roll >= edge && roll < edge + rate
        }
        if hit(options.joinRate) {
            let g = Int(random.next(below: UInt64(groups.count)))
            guard liveConsumers(of: g).count < options.consumersPerGroupMax else { return }
            let isStatic = random.next(below: 2) == 0
            queue.push(.startConsumer(group: g, instanceID: isStatic ? "\(groups[g].id)-pod-\(consumers.count)" : nil), at: now)
        } else if hit(options.leaveRate), let i = pickLive(where: { $0.phase == .stable }) {
            let c = consumers[i]
            stop(i, "leaves the group")
            sendDetached(
                i,
                .leave(
                    LeaveGroupInput(
                        groupID: groups[c.group].id,
                        members: [LeaveGroupMember(memberID: c.memberID, groupInstanceID: c.instanceID)])))
        } else if hit(options.crashRate), let i = pickLive(where: { $0.instanceID == nil }) {
            crashes += 1
            stop(i, "crashes")
        } else if hit(options.pauseRate), let i = pickLive(where: { $0.pausedUntilMs <= t }) {
            pauses += 1
            let session = Int64(groups[consumers[i].group].sessionTimeoutMs)
            consumers[i].pausedUntilMs = now + session + delay(session / 2, 2 * session)
            consumers[i].wakes = 1  // its first act after the pause is a commit: a zombie's, if it was dropped
            note("c\(i) pauses until \(consumers[i].pausedUntilMs)")
        } else if hit(options.staticRestartRate), let i = pickLive(where: { $0.instanceID != nil && $0.pausedUntilMs <= t }) {
            staticRestarts += 1
            stop(i, "crashes; its instance restarts")
            let session = Int64(groups[consumers[i].group].sessionTimeoutMs)
            queue.push(
                .startConsumer(group: consumers[i].group, instanceID: consumers[i].instanceID),
                at: now + delay(10, session))
        } else if hit(options.failoverRate) {
            failover()
        }
    }

    func liveConsumers(of group: Int) -> [Int] {
        consumers.indices.filter { consumers[$0].group == group && consumers[$0].isLive }
    }

    mutating func pickLive(where predicate: (SimConsumer) -> Bool) -> Int? {
        let candidates = consumers.indices.filter { consumers[$0].isLive && predicate(consumers[$0]) }
        guard !candidates.isEmpty else { return nil }
        return candidates[Int(random.next(below: UInt64(candidates.count)))]
    }

    /// After the fault phase: every group with live consumers must become Stable with
    /// exactly those members, each of them stable in the group's generation.
    mutating func livenessCheck() {
        if livenessProblems().isEmpty {
            checker.livenessReached = true
            note("liveness reached")
            return
        }
        queue.push(.livenessCheck, at: now + 100)
    }

    func livenessProblems() -> [String] {
        guard let c = coordinator else { return ["no coordinator"] }
        var problems: [String] = []
        for g in groups.indices {
            let live = liveConsumers(of: g)
            guard !live.isEmpty else { continue }
            let d = c.describeGroup(groups[g].id)
            let generation = image.groups[groups[g].id]?.state.generation
            let ids = live.map { consumers[$0].memberID }.sorted()
            let stable = live.allSatisfy { consumers[$0].phase == .stable && consumers[$0].generation == generation }
            if d.state != "Stable" || d.members.map(\.memberID).sorted() != ids || !stable {
                problems.append(
                    "\(groups[g].id): \(d.state) members \(d.members.map(\.memberID).sorted()) generation \(generation.map(\.description) ?? "-"); live consumers "
                        + live.map { "c\($0) \(consumers[$0].memberID) \(consumers[$0].phase) gen \(consumers[$0].generation)" }.joined(separator: ", "))
            }
        }
        return problems
    }

    func livenessReport() -> String { livenessProblems().joined(separator: "; ") }
}
