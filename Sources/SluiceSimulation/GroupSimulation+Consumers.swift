import SluiceCore
import SluiceWire
@_spi(Testing) import SluiceMetadata

/// A simulated consumer: the classic protocol with JoinGroup v5 semantics, a range assignor,
/// and offsets that only move forward from what it fetched.
struct SimConsumer {
    enum Phase: Equatable {
        /// The next wake-up sends a JoinGroup.
        case needsJoin
        case joining, syncing, stable
        /// Committing before rejoining (it was told REBALANCE_IN_PROGRESS).
        case revoking
        /// Crashed, left, or fenced: it sends nothing any more.
        case stopped
    }
    let index: Int
    let group: Int
    let clientID: String
    let instanceID: String?
    var phase: Phase = .needsJoin
    var pausedUntilMs: Int64 = 0
    var memberID = ""
    var generation = GenerationID.none
    var assignment: [TopicPartition] = []
    /// The next offset to commit for each assigned partition.
    var positions: [TopicPartition: Int64] = [:]
    var inFlight = false
    var wakes = 0

    var isLive: Bool { phase != .stopped }
    /// The member as the checker names an owner: static members by instance id.
    var ownerKey: String { instanceID.map { "instance:\($0)" } ?? memberID }
}

extension GroupSimulation {
    mutating func startConsumer(group: Int, instanceID: String?) {
        guard !faultsOver || instanceID != nil else { return }
        let index = consumers.count
        consumers.append(SimConsumer(index: index, group: group, clientID: "c\(index)", instanceID: instanceID))
        note("c\(index) starts in \(groups[group].id)\(instanceID.map { " as static \($0)" } ?? "")")
        queue.push(.wake(consumer: index), at: now)
    }

    mutating func send(_ consumer: Int, _ body: SimRequest.Body) {
        let request = SimRequest(token: nextToken, consumer: consumer, body: body)
        nextToken += 1
        consumers[consumer].inFlight = true
        queue.push(.arrive(request), at: now + networkDelay())
    }

    /// Sends without waiting for an answer (a LeaveGroup on the way out).
    mutating func sendDetached(_ consumer: Int, _ body: SimRequest.Body) {
        let request = SimRequest(token: nextToken, consumer: consumer, body: body)
        nextToken += 1
        queue.push(.arrive(request), at: now + networkDelay())
    }

    /// The consumer's periodic work: join when it must, otherwise heartbeat or consume and commit.
    mutating func wake(_ i: Int) {
        let c = consumers[i]
        guard c.isLive else { return }
        if c.pausedUntilMs > now {
            queue.push(.wake(consumer: i), at: c.pausedUntilMs)
            return
        }
        let g = groups[c.group]
        queue.push(.wake(consumer: i), at: now + Int64(g.sessionTimeoutMs / 3))
        guard !c.inFlight else { return }
        consumers[i].wakes += 1
        switch c.phase {
        case .needsJoin: sendJoin(i)
        case .stable:
            if consumers[i].wakes % 2 == 0 { commit(i) } else {
                send(i, .heartbeat(HeartbeatInput(groupID: g.id, generationID: c.generation, memberID: c.memberID, groupInstanceID: c.instanceID)))
            }
        case .joining, .syncing, .revoking, .stopped: break
        }
    }

    mutating func sendJoin(_ i: Int) {
        let c = consumers[i]
        let g = groups[c.group]
        consumers[i].phase = .joining
        send(
            i,
            .join(
                JoinGroupInput(
                    groupID: g.id, memberID: c.memberID, groupInstanceID: c.instanceID, protocolType: "consumer",
                    protocols: [GroupProtocol(name: "range", metadata: g.topics.map(UInt8.init))],
                    sessionTimeoutMs: g.sessionTimeoutMs, rebalanceTimeoutMs: g.rebalanceTimeoutMs, clientID: c.clientID,
                    clientHost: "/10.0.0.\(i % 250)", requireKnownMemberID: true)))
    }

    /// Consumes a little on every assigned partition and commits the new positions.
    mutating func commit(_ i: Int) {
        let c = consumers[i]
        for tp in c.assignment { consumers[i].positions[tp, default: 0] += 1 + Int64(random.next(below: 5)) }
        let partitions = c.assignment.map {
            OffsetCommitPartition(topic: $0.topic.rawValue, partition: $0.partition, offset: Offset(consumers[i].positions[$0]!))
        }
        send(
            i,
            .commit(
                OffsetCommitInput(
                    groupID: groups[c.group].id, generationID: c.generation, memberID: c.memberID,
                    groupInstanceID: c.instanceID, partitions: partitions)))
    }

    /// Drops the assignment and rejoins after `backoffMs`; `resetID` forgets the member id.
    mutating func rejoin(_ i: Int, resetID: Bool, backoffMs: Int64) {
        consumers[i].phase = .needsJoin
        consumers[i].assignment = []
        if resetID {
            consumers[i].memberID = ""
            consumers[i].generation = .none
        }
        queue.push(.wake(consumer: i), at: now + backoffMs)
    }

    mutating func stop(_ i: Int, _ why: String) {
        consumers[i].phase = .stopped
        note("c\(i) stops: \(why)")
    }

    mutating func deliver(_ reply: SimReply, to i: Int) {
        guard consumers[i].isLive else { return }
        if consumers[i].pausedUntilMs > now {
            queue.push(.deliver(consumer: i, reply), at: consumers[i].pausedUntilMs)
            return
        }
        if case .leave = reply { return }
        consumers[i].inFlight = false
        switch reply {
        case .join(let o): joined(i, o)
        case .sync(let o): synced(i, o)
        case .heartbeat(let code): afterError(i, code, what: "heartbeat")
        case .commit(let o):
            let code = o.errorCodes.first { $0 != .none } ?? .none
            if code == .none { checker.acknowledge(consumers[i], groups[consumers[i].group].id) }
            if consumers[i].phase == .revoking {
                note("c\(i) committed before rejoining: \(code.name)")
                rejoin(i, resetID: code == .unknownMemberID, backoffMs: 0)
            } else {
                afterError(i, code, what: "commit")
            }
        case .notCoordinator:
            note("c\(i) NOT_COORDINATOR in \(consumers[i].phase)")
            if consumers[i].phase == .joining || consumers[i].phase == .syncing || consumers[i].phase == .revoking {
                rejoin(i, resetID: false, backoffMs: delay(20, 200))
            }
        case .leave: break
        }
    }

    /// Heartbeat and commit errors: REBALANCE_IN_PROGRESS commits then rejoins, a stale
    /// generation or unknown member rejoins at once, fencing stops the consumer.
    mutating func afterError(_ i: Int, _ code: KafkaErrorCode, what: String) {
        guard code != .none else { return }
        note("c\(i) \(what) in generation \(consumers[i].generation): \(code.name)")
        switch code {
        case .rebalanceInProgress where consumers[i].phase == .stable:
            consumers[i].phase = .revoking
            commit(i)
        case .rebalanceInProgress: break
        case .illegalGeneration: rejoin(i, resetID: false, backoffMs: 0)
        case .unknownMemberID: rejoin(i, resetID: true, backoffMs: 0)
        case .fencedInstanceID: stop(i, "fenced")
        default: break
        }
    }

    mutating func joined(_ i: Int, _ o: JoinGroupOutcome) {
        note("c\(i) join: \(o.errorCode.name) member \(o.memberID) generation \(o.generationID)\(o.members.isEmpty ? "" : " (leader of \(o.members.count))")")
        switch o.errorCode {
        case .memberIDRequired:
            consumers[i].memberID = o.memberID
            sendJoin(i)
        case .none:
            consumers[i].memberID = o.memberID
            consumers[i].generation = o.generationID
            consumers[i].phase = .syncing
            let g = groups[consumers[i].group]
            let assignments = o.leaderID == o.memberID ? rangeAssignment(o.members, topics: g.topics) : []
            send(
                i,
                .sync(
                    SyncGroupInput(
                        groupID: g.id, generationID: o.generationID, memberID: o.memberID,
                        groupInstanceID: consumers[i].instanceID, assignments: assignments)))
        case .unknownMemberID: rejoin(i, resetID: true, backoffMs: delay(10, 100))
        case .fencedInstanceID: stop(i, "fenced at join")
        default: rejoin(i, resetID: false, backoffMs: delay(10, 100))
        }
    }

    mutating func synced(_ i: Int, _ o: SyncGroupOutcome) {
        note("c\(i) sync: \(o.errorCode.name) \(o.assignment.count / 2) partitions")
        switch o.errorCode {
        case .none:
            let partitions = stride(from: 0, to: o.assignment.count - 1, by: 2).map {
                TopicPartition(topics[Int(o.assignment[$0])].name, PartitionIndex(Int32(o.assignment[$0 + 1])))
            }
            let group = groups[consumers[i].group].id
            if let v = checker.checkAssignmentDelivered(consumers[i], group: group, partitions: partitions) { fail(v) }
            consumers[i].assignment = partitions
            consumers[i].positions = [:]
            for tp in partitions {
                consumers[i].positions[tp] = image.groups[group]?.offsets[tp]?.offset.rawValue ?? 0
            }
            consumers[i].phase = .stable
        case .unknownMemberID: rejoin(i, resetID: true, backoffMs: 0)
        case .fencedInstanceID: stop(i, "fenced at sync")
        default: rejoin(i, resetID: false, backoffMs: delay(0, 50))
        }
    }

    /// Kafka's range assignor: per topic, members by id take consecutive ranges, the first
    /// `partitions % members` one extra. Assignment bytes are (topic, partition) pairs.
    func rangeAssignment(_ members: [JoinGroupMember], topics subscribed: [Int]) -> [SyncGroupAssignment] {
        let ids = members.map(\.memberID).sorted()
        var bytes = [String: [UInt8]]()
        for t in subscribed {
            let n = Int(topics[t].partitions), m = ids.count
            var next = 0
            for (k, id) in ids.enumerated() {
                let count = n / m + (k < n % m ? 1 : 0)
                for p in next..<(next + count) { bytes[id, default: []] += [UInt8(t), UInt8(p)] }
                next += count
            }
        }
        return ids.map { SyncGroupAssignment(memberID: $0, assignment: bytes[$0] ?? []) }
    }
}
