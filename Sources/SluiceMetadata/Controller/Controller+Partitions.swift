import SluiceCore
import SluiceWire

/// A partition leader's request to change its ISR (Kafka's AlterPartition).
public struct AlterPartitionRequest: Hashable, Sendable {
    public var topic: TopicName
    public var partition: PartitionIndex
    public var leaderID: NodeID
    /// The leader's registration it speaks for: a request from an earlier process of the
    /// leader (delayed in the network) must not change the ISR its successor inherits.
    public var leaderIncarnation: KafkaUUID
    public var leaderEpoch: LeaderEpoch
    /// The partition epoch the leader's view is based on.
    public var partitionEpoch: PartitionEpoch
    public var newISR: [NodeID]
    public init(
        topic: TopicName, partition: PartitionIndex, leaderID: NodeID, leaderIncarnation: KafkaUUID,
        leaderEpoch: LeaderEpoch, partitionEpoch: PartitionEpoch, newISR: [NodeID]
    ) {
        self.topic = topic
        self.partition = partition
        self.leaderID = leaderID
        self.leaderIncarnation = leaderIncarnation
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.newISR = newISR
    }
}

/// A replica's report that its log holds a damaged batch (`Controller.replicaDamaged`).
public struct DamagedReplicaReport: Hashable, Sendable {
    public var topic: TopicName
    public var partition: PartitionIndex
    public var replicaID: NodeID
    /// The reporter's registration: a report from an earlier process must not take its
    /// successor, which may hold a good copy, out of the ISR.
    public var replicaIncarnation: KafkaUUID
    /// The leader epoch and partition epoch the reporter's view is based on.
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: PartitionEpoch
    /// What is damaged, for the controller's log line.
    public var reason: String
    public init(topic: TopicName, partition: PartitionIndex, replicaID: NodeID, replicaIncarnation: KafkaUUID,
                leaderEpoch: LeaderEpoch, partitionEpoch: PartitionEpoch, reason: String) {
        self.topic = topic
        self.partition = partition
        self.replicaID = replicaID
        self.replicaIncarnation = replicaIncarnation
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.reason = reason
    }
}

/// The answer: the partition's state after the change, or why it was refused.
public enum AlterPartitionResult: Hashable, Sendable {
    case accepted(PartitionState)
    case rejected(KafkaErrorCode, String)
}

/// The block InitProducerId hands ids out of.
public enum ProducerIDBlockResult: Hashable, Sendable {
    case allocated(first: ProducerID, count: Int32)
    case rejected(KafkaErrorCode, String)
}

extension Controller {
    /// Checks the sender's claim to lead (`check`), then: the new ISR is non-empty, has no
    /// duplicates, lists only replicas and contains the leader; every broker it adds is
    /// registered and unfenced (members already in the ISR may stay even if fenced: removing
    /// them is the leader's decision).
    public mutating func alterPartition(_ request: AlterPartitionRequest) -> ControllerOutput<AlterPartitionResult> {
        func reject(_ code: KafkaErrorCode, _ why: String) -> ControllerOutput<AlterPartitionResult> {
            ControllerOutput(units: [], result: .rejected(code, "\(request.topic)-\(request.partition): \(why)"))
        }
        let leader = LeaderClaim(topic: request.topic, partition: request.partition, leaderID: request.leaderID,
                                 leaderIncarnation: request.leaderIncarnation, leaderEpoch: request.leaderEpoch,
                                 partitionEpoch: request.partitionEpoch)
        let topic: TopicImage
        let state: PartitionState
        switch check(leader) {
        case .failure(let refusal): return reject(refusal.code, refusal.why)
        case .success(let found): (topic, state) = found
        }
        let isr = request.newISR
        if isr.isEmpty { return reject(.invalidRequest, "the ISR cannot be empty") }
        if Set(isr).count != isr.count { return reject(.invalidRequest, "duplicate ISR members \(isr)") }
        if let stranger = isr.first(where: { !state.replicas.contains($0) }) {
            return reject(.invalidRequest, "broker \(stranger) is not a replica")
        }
        if !isr.contains(state.leader) { return reject(.invalidRequest, "the leader must stay in the ISR") }
        if let ineligible = isr.first(where: { !state.isr.contains($0) && !mayLead($0) }) {
            return reject(.ineligibleReplica, "broker \(ineligible) is fenced, not registered, or shutting down")
        }
        let change = MetadataRecord.partitionChange(
            PartitionChangeRecord(
                topicID: topic.topicID, partition: request.partition, partitionEpoch: state.partitionEpoch.next, isr: isr))
        adopt([change])
        let updated = image.topicsByID[topic.topicID]!.partitions[Int(request.partition.rawValue)]
        return ControllerOutput(units: [[change]], result: .accepted(updated))
    }

    /// What AlterPartition claims: to lead the partition at these epochs.
    struct LeaderClaim {
        var topic: TopicName
        var partition: PartitionIndex
        var leaderID: NodeID
        var leaderIncarnation: KafkaUUID
        var leaderEpoch: LeaderEpoch
        var partitionEpoch: PartitionEpoch
    }

    struct Refusal: Error {
        var code: KafkaErrorCode
        var why: String
    }

    /// Checks, in order: the sender speaks for the leader's current registration (else
    /// STALE_BROKER_EPOCH, as Kafka checks the broker epoch first); the partition exists; the
    /// sender is its leader at its leader epoch; the request is based on the current partition
    /// epoch.
    func check(_ claim: LeaderClaim) -> Result<(TopicImage, PartitionState), Refusal> {
        guard let registration = image.brokers[claim.leaderID], registration.incarnation == claim.leaderIncarnation else {
            let registered = image.brokers[claim.leaderID].map { "\($0.incarnation)" } ?? "none"
            return .failure(Refusal(
                code: .staleBrokerEpoch,
                why: "broker \(claim.leaderID) incarnation \(claim.leaderIncarnation) is not its registered one (\(registered))"))
        }
        guard let topic = image.topic(named: claim.topic), let state = topic.partition(claim.partition) else {
            return .failure(Refusal(code: .unknownTopicOrPartition, why: "no such partition"))
        }
        if claim.leaderEpoch < state.leaderEpoch {
            return .failure(Refusal(code: .fencedLeaderEpoch, why: "leader epoch \(claim.leaderEpoch) is older than \(state.leaderEpoch)"))
        }
        if claim.leaderID != state.leader {
            return .failure(Refusal(code: .notLeaderOrFollower, why: "broker \(claim.leaderID) is not the leader (\(state.leader) is)"))
        }
        if claim.leaderEpoch > state.leaderEpoch {
            return .failure(Refusal(code: .unknownLeaderEpoch, why: "leader epoch \(claim.leaderEpoch) is newer than \(state.leaderEpoch)"))
        }
        if claim.partitionEpoch != state.partitionEpoch {
            return .failure(Refusal(code: .invalidUpdateVersion,
                                    why: "partition epoch \(claim.partitionEpoch) is not the current \(state.partitionEpoch)"))
        }
        return .success((topic, state))
    }

    /// A replica whose log holds a damaged batch leaves the ISR: it no longer holds every
    /// record below the high watermark, so it must not be elected, nor count towards
    /// `min.insync.replicas`, until its leader has seen it fetch the damage back and added it
    /// again. If it leads, the first replica (in replica order) that is in the ISR and unfenced
    /// leads instead, in the same change, so a leader never leaves the ISR it leads (Kafka's
    /// controller does this for a replica in an offline log directory, KIP-858, here for one
    /// partition). A leader with no other live ISR member (RF 1, or the others are out of sync)
    /// stays (ELIGIBLE_LEADERS_NOT_AVAILABLE): it is the best copy there is; so does the only
    /// ISR member of a leaderless partition. A report from a
    /// replica already outside the ISR changes nothing and is accepted.
    public mutating func replicaDamaged(_ report: DamagedReplicaReport) -> ControllerOutput<AlterPartitionResult> {
        func reject(_ code: KafkaErrorCode, _ why: String) -> ControllerOutput<AlterPartitionResult> {
            ControllerOutput(units: [], result: .rejected(code, "\(report.topic)-\(report.partition): \(why)"))
        }
        let topic: TopicImage
        let state: PartitionState
        switch check(report) {
        case .failure(let refusal): return reject(refusal.code, refusal.why)
        case .success(let found): (topic, state) = found
        }
        guard state.isr.contains(report.replicaID) else { return ControllerOutput(units: [], result: .accepted(state)) }
        let rest = state.isr.filter { $0 != report.replicaID }
        // The ISR never becomes empty (found by the simulator: the sole ISR member of a
        // leaderless partition reported): the only in-sync copy stays the best there is.
        guard !rest.isEmpty else {
            return reject(.eligibleLeadersNotAvailable, "broker \(report.replicaID) is the only in-sync replica")
        }
        var change = PartitionChangeRecord(topicID: topic.topicID, partition: report.partition,
                                           partitionEpoch: state.partitionEpoch.next, isr: rest)
        if state.leader == report.replicaID {
            guard let next = state.replicas.first(where: { rest.contains($0) && mayLead($0) }) else {
                return reject(.eligibleLeadersNotAvailable, "no other in-sync replica of \(state.isr) is alive to lead")
            }
            change.leader = next
        }
        let record = MetadataRecord.partitionChange(change)
        adopt([record])
        let updated = image.topicsByID[topic.topicID]!.partitions[Int(report.partition.rawValue)]
        return ControllerOutput(units: [[record]], result: .accepted(updated))
    }

    /// The reporter speaks for its registration, the partition exists and lists it as a
    /// replica, and the report is based on the current leader epoch and partition epoch.
    func check(_ report: DamagedReplicaReport) -> Result<(TopicImage, PartitionState), Refusal> {
        guard let registration = image.brokers[report.replicaID], registration.incarnation == report.replicaIncarnation else {
            return .failure(Refusal(code: .staleBrokerEpoch,
                                    why: "broker \(report.replicaID) incarnation \(report.replicaIncarnation) is not its registered one"))
        }
        guard let topic = image.topic(named: report.topic), let state = topic.partition(report.partition) else {
            return .failure(Refusal(code: .unknownTopicOrPartition, why: "no such partition"))
        }
        guard state.replicas.contains(report.replicaID) else {
            return .failure(Refusal(code: .notLeaderOrFollower, why: "broker \(report.replicaID) is not a replica"))
        }
        if report.leaderEpoch < state.leaderEpoch {
            return .failure(Refusal(code: .fencedLeaderEpoch, why: "leader epoch \(report.leaderEpoch) is older than \(state.leaderEpoch)"))
        }
        if report.leaderEpoch > state.leaderEpoch {
            return .failure(Refusal(code: .unknownLeaderEpoch, why: "leader epoch \(report.leaderEpoch) is newer than \(state.leaderEpoch)"))
        }
        if report.partitionEpoch != state.partitionEpoch {
            return .failure(Refusal(code: .invalidUpdateVersion,
                                    why: "partition epoch \(report.partitionEpoch) is not the current \(state.partitionEpoch)"))
        }
        return .success((topic, state))
    }

    /// Reserves `count` producer ids for InitProducerId.
    public mutating func allocateProducerIDs(count: Int32) -> ControllerOutput<ProducerIDBlockResult> {
        guard (1...Self.producerIDBlockSizeMax).contains(count) else {
            return ControllerOutput(units: [], result: .rejected(.invalidRequest, "block size \(count) outside 1...\(Self.producerIDBlockSizeMax)"))
        }
        let first = image.nextProducerID
        guard first.rawValue <= Int64.max - Int64(count) else {
            return ControllerOutput(units: [], result: .rejected(.unknownServerError, "producer ids are exhausted"))
        }
        let record = MetadataRecord.producerIDs(ProducerIDsRecord(blockStart: first, blockSize: Int64(count)))
        adopt([record])
        return ControllerOutput(units: [[record]], result: .allocated(first: first, count: count))
    }
}
