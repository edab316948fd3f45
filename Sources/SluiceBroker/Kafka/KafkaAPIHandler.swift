import Logging
import SluiceCore
import SluiceMetadata
import SluiceWire

/// One Kafka API. The versions it serves are declared on the type and are exactly what
/// ApiVersions advertises (`KafkaAPIRegistry`).
protocol KafkaAPIHandler: Sendable {
    associatedtype Request: APIRequest
    /// Versions this handler decodes and answers. Versions inside the range it cannot serve in
    /// full (old message formats) get a per-item error in the response, never silence.
    static var versions: ClosedRange<Int16> { get }
    /// The response, or nil when the request asks for none (Produce with acks=0).
    func handle(_ request: Request, _ context: RequestContext) async -> Request.Response?
}

/// What a handler knows about the request beyond its body.
struct RequestContext: Sendable {
    var header: RequestHeader
    var version: Int16 { header.apiVersion }
    var clientID: String? { header.clientID }
    var logger: Logger
    /// The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1"), or "/unknown".
    var clientHost: String = "/unknown"
}

/// Everything the handlers share: the node's identity and settings, its metadata, its
/// replicas, the controller, and the group coordinator.
struct BrokerServices: Sendable {
    var nodeID: NodeID
    var config: NodeConfig
    var metadata: MetadataView
    var partitions: PartitionManager
    var cluster: any ClusterControl
    var groups: GroupCoordinatorService
    /// `config.topicConfigDefaults`, worked out once (Produce reads it per partition).
    var topicDefaults: TopicConfigDefaults
    /// The node's request counters and latencies (`/metrics`).
    var metrics: NodeMetrics
    /// The metadata quorum as the Raft driver sees it (DescribeQuorum); nil where no driver runs.
    var raftQuorum: @Sendable () async -> RaftQuorumStatus?

    init(nodeID: NodeID, config: NodeConfig, metadata: MetadataView, partitions: PartitionManager,
         cluster: any ClusterControl, groups: GroupCoordinatorService, metrics: NodeMetrics = NodeMetrics(),
         raftQuorum: @escaping @Sendable () async -> RaftQuorumStatus? = { nil }) {
        self.nodeID = nodeID
        self.config = config
        self.metadata = metadata
        self.partitions = partitions
        self.cluster = cluster
        self.groups = groups
        self.topicDefaults = config.topicConfigDefaults
        self.metrics = metrics
        self.raftQuorum = raftQuorum
    }
}

/// A requested partition, as far as this node is concerned.
enum LocalReplicaLookup {
    case found(PartitionReplica)
    case refused(KafkaErrorCode)
}

extension BrokerServices {
    /// This node's replica of a requested partition, or the error code Kafka gives a client
    /// whose view is wrong: UNKNOWN_TOPIC_OR_PARTITION for a topic name or partition index the
    /// metadata does not have (the client should fail), NOT_LEADER_OR_FOLLOWER for a partition
    /// that exists but lives on other nodes (stale metadata: the client refreshes and retries).
    func localReplica(topic: String, partition: PartitionIndex) async -> LocalReplicaLookup {
        guard let name = TopicName(rawValue: topic) else { return .refused(.unknownTopicOrPartition) }
        let topicPartition = TopicPartition(name, partition)
        if let replica = await partitions.replica(topicPartition) { return .found(replica) }
        let exists = metadata.current.image.partition(topicPartition) != nil
        return .refused(exists ? .notLeaderOrFollower : .unknownTopicOrPartition)
    }
}
