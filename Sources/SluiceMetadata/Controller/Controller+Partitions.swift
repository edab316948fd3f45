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

/// A partition leader's request to give up leadership because its log is damaged
/// (`Controller.handOffLeadership`).
public struct LeadershipHandOffRequest: Hashable, Sendable {
    public var topic: TopicName
    public var partition: PartitionIndex
    public var leaderID: NodeID
    public var leaderIncarnation: KafkaUUID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: PartitionEpoch
    /// What is damaged, for the controller's log line.
    public var reason: String
    public init(topic: TopicName, partition: PartitionIndex, leaderID: NodeID, leaderIncarnation: KafkaUUID,
                leaderEpoch: LeaderEpoch, partitionEpoch: PartitionEpoch, reason: String) {
        self.topic = topic
        self.partition = partition
        self.leaderID = leaderID
        self.leaderIncarnation = leaderIncarnation
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.reason = reason
    }

    var leader: Controller.LeaderClaim {
        Controller.LeaderClaim(topic: topic, partition: partition, leaderID: leaderID, leaderIncarnation: leaderIncarnation,
                               leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch)
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
        if let ineligible = isr.first(where: { !state.isr.contains($0) && !image.isUnfenced($0) }) {
            return reject(.ineligibleReplica, "broker \(ineligible) is fenced or not registered")
        }
        let change = MetadataRecord.partitionChange(
            PartitionChangeRecord(
                topicID: topic.topicID, partition: request.partition, partitionEpoch: state.partitionEpoch.next, isr: isr))
        adopt([change])
        let updated = image.topicsByID[topic.topicID]!.partitions[Int(request.partition.rawValue)]
        return ControllerOutput(units: [[change]], result: .accepted(updated))
    }

    /// A request made by a partition's leader, as AlterPartition and a leadership hand-off
    /// both are.
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

    /// A leader whose log holds a damaged batch gives up leadership: the first replica (in
    /// replica order) that is in the ISR and unfenced leads, and the old leader leaves the ISR,
    /// since it no longer holds every record below the high watermark. It follows the new
    /// leader, cuts its log back to the damage and is added again once it has caught up. This
    /// is what Kafka's controller does for a replica in an offline log directory (KIP-858),
    /// for one partition. With no other live ISR member (RF 1, or the others are out of sync)
    /// nothing changes (ELIGIBLE_LEADERS_NOT_AVAILABLE): the damaged leader is still the best
    /// copy there is.
    public mutating func handOffLeadership(_ request: LeadershipHandOffRequest) -> ControllerOutput<AlterPartitionResult> {
        func reject(_ code: KafkaErrorCode, _ why: String) -> ControllerOutput<AlterPartitionResult> {
            ControllerOutput(units: [], result: .rejected(code, "\(request.leader.topic)-\(request.leader.partition): \(why)"))
        }
        let topic: TopicImage
        let state: PartitionState
        switch check(request.leader) {
        case .failure(let refusal): return reject(refusal.code, refusal.why)
        case .success(let found): (topic, state) = found
        }
        let rest = state.isr.filter { $0 != request.leader.leaderID }
        guard let next = state.replicas.first(where: { rest.contains($0) && image.isUnfenced($0) }) else {
            return reject(.eligibleLeadersNotAvailable, "no other in-sync replica of \(state.isr) is alive to lead")
        }
        let change = MetadataRecord.partitionChange(
            PartitionChangeRecord(topicID: topic.topicID, partition: request.leader.partition,
                                  partitionEpoch: state.partitionEpoch.next, leader: next, isr: rest))
        adopt([change])
        let updated = image.topicsByID[topic.topicID]!.partitions[Int(request.leader.partition.rawValue)]
        return ControllerOutput(units: [[change]], result: .accepted(updated))
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
