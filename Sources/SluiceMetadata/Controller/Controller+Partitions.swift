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
    /// Checks, in order: the sender speaks for the leader's current registration (else
    /// STALE_BROKER_EPOCH, as Kafka checks the broker epoch first); the partition exists; the
    /// sender is its leader at its leader epoch;
    /// the request is based on the current partition epoch; the new ISR is non-empty, has no
    /// duplicates, lists only replicas and contains the leader; every broker it adds is
    /// registered and unfenced (members already in the ISR may stay even if fenced: removing
    /// them is the leader's decision).
    public mutating func alterPartition(_ request: AlterPartitionRequest) -> ControllerOutput<AlterPartitionResult> {
        func reject(_ code: KafkaErrorCode, _ why: String) -> ControllerOutput<AlterPartitionResult> {
            ControllerOutput(units: [], result: .rejected(code, "\(request.topic)-\(request.partition): \(why)"))
        }
        guard let registration = image.brokers[request.leaderID], registration.incarnation == request.leaderIncarnation else {
            let registered = image.brokers[request.leaderID].map { "\($0.incarnation)" } ?? "none"
            return reject(
                .staleBrokerEpoch,
                "broker \(request.leaderID) incarnation \(request.leaderIncarnation) is not its registered one (\(registered))")
        }
        guard let topic = image.topic(named: request.topic), let state = topic.partition(request.partition) else {
            return reject(.unknownTopicOrPartition, "no such partition")
        }
        if request.leaderEpoch < state.leaderEpoch {
            return reject(.fencedLeaderEpoch, "leader epoch \(request.leaderEpoch) is older than \(state.leaderEpoch)")
        }
        if request.leaderID != state.leader {
            return reject(.notLeaderOrFollower, "broker \(request.leaderID) is not the leader (\(state.leader) is)")
        }
        if request.leaderEpoch > state.leaderEpoch {
            return reject(.unknownLeaderEpoch, "leader epoch \(request.leaderEpoch) is newer than \(state.leaderEpoch)")
        }
        if request.partitionEpoch != state.partitionEpoch {
            return reject(.invalidUpdateVersion, "partition epoch \(request.partitionEpoch) is not the current \(state.partitionEpoch)")
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
