import SluiceCore
import SluiceWire

/// One change to the cluster metadata: the payload of the Raft metadata log (DESIGN §2.1).
///
/// Only the controller (the Raft leader) creates records; every node applies the committed ones,
/// in log order, to its `MetadataImage`. A Raft entry carries a `MetadataRecordBatch` of records
/// that the controller decided together (a topic and its partitions, a fence and the leader
/// elections it causes). The binary layout of each record is drawn in `MetadataRecord+Codec.swift`.
public enum MetadataRecord: Hashable, Sendable {
    case registerBroker(RegisterBrokerRecord)
    case fenceBroker(FenceBrokerRecord)
    case unfenceBroker(UnfenceBrokerRecord)
    case topic(TopicRecord)
    case partition(PartitionRecord)
    case partitionChange(PartitionChangeRecord)
    case removeTopic(RemoveTopicRecord)
    case config(ConfigRecord)
    case producerIDs(ProducerIDsRecord)
    case groupState(GroupStateRecord)
    case offsetCommit(OffsetCommitRecord)
    case removeGroup(RemoveGroupRecord)
    case removeOffset(RemoveOffsetRecord)

    /// The type tag, the first byte of every encoded record. Tags are never reused; a new
    /// record type takes the next free one.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case registerBroker = 1
        case fenceBroker = 2
        case unfenceBroker = 3
        case topic = 4
        case partition = 5
        case partitionChange = 6
        case removeTopic = 7
        case config = 8
        case producerIDs = 9
        case groupState = 10
        case offsetCommit = 11
        case removeGroup = 12
        case removeOffset = 13
    }

    public var kind: Kind {
        switch self {
        case .registerBroker: .registerBroker
        case .fenceBroker: .fenceBroker
        case .unfenceBroker: .unfenceBroker
        case .topic: .topic
        case .partition: .partition
        case .partitionChange: .partitionChange
        case .removeTopic: .removeTopic
        case .config: .config
        case .producerIDs: .producerIDs
        case .groupState: .groupState
        case .offsetCommit: .offsetCommit
        case .removeGroup: .removeGroup
        case .removeOffset: .removeOffset
        }
    }
}

/// A host and port a broker listens on.
public struct BrokerEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// Longest host name (DNS's limit); the controller refuses longer ones.
    public static let hostBytesMax = 255
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
    public var description: String { "\(host):\(port)" }
}

/// A broker announces itself (or a new process of itself). The registration starts fenced: the
/// broker leads nothing until the controller unfences it on a later heartbeat.
public struct RegisterBrokerRecord: Hashable, Sendable {
    public var nodeID: NodeID
    /// Random per process start; a new incarnation means the broker restarted and lost its
    /// in-memory state, so records about an older incarnation no longer apply to it.
    public var incarnation: KafkaUUID
    public var clientEndpoint: BrokerEndpoint
    public var interNodeEndpoint: BrokerEndpoint
    public init(
        nodeID: NodeID, incarnation: KafkaUUID, clientEndpoint: BrokerEndpoint,
        interNodeEndpoint: BrokerEndpoint
    ) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.clientEndpoint = clientEndpoint
        self.interNodeEndpoint = interNodeEndpoint
    }
}

/// The broker's lease expired (or it restarted): it may lead no partition.
public struct FenceBrokerRecord: Hashable, Sendable {
    public var nodeID: NodeID
    /// The registration this fence is about; a fence for an older incarnation is stale.
    public var incarnation: KafkaUUID
    public init(nodeID: NodeID, incarnation: KafkaUUID) {
        self.nodeID = nodeID
        self.incarnation = incarnation
    }
}

/// The broker heartbeats again and may lead partitions.
public struct UnfenceBrokerRecord: Hashable, Sendable {
    public var nodeID: NodeID
    public var incarnation: KafkaUUID
    public init(nodeID: NodeID, incarnation: KafkaUUID) {
        self.nodeID = nodeID
        self.incarnation = incarnation
    }
}

/// A new topic. Its partitions follow as `PartitionRecord`s in the same batch.
public struct TopicRecord: Hashable, Sendable {
    public var name: TopicName
    public var topicID: KafkaUUID
    public init(name: TopicName, topicID: KafkaUUID) {
        self.name = name
        self.topicID = topicID
    }
}

/// A new partition of an existing topic, with its complete initial state.
public struct PartitionRecord: Hashable, Sendable {
    public var topicID: KafkaUUID
    public var partition: PartitionIndex
    public var replicas: [NodeID]
    public var isr: [NodeID]
    /// `NodeID.none` when no replica may lead.
    public var leader: NodeID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: PartitionEpoch
    /// `PartitionState.isrRestartedUnclean`: only a snapshot restates it as true.
    public var isrRestartedUnclean: Bool
    public init(
        topicID: KafkaUUID, partition: PartitionIndex, replicas: [NodeID], isr: [NodeID],
        leader: NodeID, leaderEpoch: LeaderEpoch = 0, partitionEpoch: PartitionEpoch = 0,
        isrRestartedUnclean: Bool = false
    ) {
        self.topicID = topicID
        self.partition = partition
        self.replicas = replicas
        self.isr = isr
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.isrRestartedUnclean = isrRestartedUnclean
    }
}

/// A change to an existing partition. Fields left `nil` keep their value.
///
/// Applying it bumps the partition epoch by one, and the leader epoch by one when `leader` is
/// set. `partitionEpoch` is the epoch the change produces: it must be exactly one past the
/// partition's current epoch, so a change decided on stale state is refused when applied
/// instead of silently overwriting a newer one.
public struct PartitionChangeRecord: Hashable, Sendable {
    public var topicID: KafkaUUID
    public var partition: PartitionIndex
    public var partitionEpoch: PartitionEpoch
    public var leader: NodeID?
    public var isr: [NodeID]?
    public var replicas: [NodeID]?
    /// Sets or clears `PartitionState.isrRestartedUnclean`: set when the only ISR member
    /// restarts after an unclean shutdown, cleared by the election that gives the partition a
    /// leader again.
    public var isrRestartedUnclean: Bool?
    public init(
        topicID: KafkaUUID, partition: PartitionIndex, partitionEpoch: PartitionEpoch,
        leader: NodeID? = nil, isr: [NodeID]? = nil, replicas: [NodeID]? = nil, isrRestartedUnclean: Bool? = nil
    ) {
        self.topicID = topicID
        self.partition = partition
        self.partitionEpoch = partitionEpoch
        self.leader = leader
        self.isr = isr
        self.replicas = replicas
        self.isrRestartedUnclean = isrRestartedUnclean
    }
}

/// The topic and all its partitions and configs are gone.
public struct RemoveTopicRecord: Hashable, Sendable {
    public var topicID: KafkaUUID
    public init(topicID: KafkaUUID) { self.topicID = topicID }
}

/// What a config entry belongs to.
public enum ConfigResource: Hashable, Sendable, CustomStringConvertible {
    case topic(TopicName)
    case broker(NodeID)
    public var description: String {
        switch self {
        case .topic(let name): "topic \(name)"
        case .broker(let id): "broker \(id)"
        }
    }
}

/// Sets one config key, or deletes it (`value == nil`) so the default applies again.
public struct ConfigRecord: Hashable, Sendable {
    public var resource: ConfigResource
    public var key: String
    public var value: String?
    public init(resource: ConfigResource, key: String, value: String?) {
        self.resource = resource
        self.key = key
        self.value = value
    }
}

/// Hands out producer ids `blockStart ..< blockStart + blockSize` (InitProducerId serves them).
/// `blockStart` must equal the image's next free id, so no id is ever handed out twice.
public struct ProducerIDsRecord: Hashable, Sendable {
    public var blockStart: ProducerID
    /// Int64 so a snapshot can restate every id handed out so far as one block from 0.
    public var blockSize: Int64
    public init(blockStart: ProducerID, blockSize: Int64) {
        self.blockStart = blockStart
        self.blockSize = blockSize
    }
}
