import SluiceCore
import SluiceWire

/// What the cluster said about itself in one Metadata answer: the brokers, the controller, and
/// for each topic every partition's leader, replicas, in-sync replicas and leader epoch.
public struct ClusterMetadata: Sendable {
    /// A node that serves clients.
    public struct Broker: Sendable, Hashable {
        public var id: NodeID
        public var host: String
        public var port: Int
        public var rack: String?
        /// `host:port`.
        public var address: String { BrokerAddress(host: host, port: port).description }
    }

    /// One partition of a topic.
    public struct Partition: Sendable, Hashable {
        public var index: PartitionIndex
        /// The node that takes writes for it; nil while it has none (e.g. its only replica is down).
        public var leader: NodeID?
        public var leaderEpoch: LeaderEpoch
        public var replicas: [NodeID]
        public var inSyncReplicas: [NodeID]
        public var offlineReplicas: [NodeID]
        /// The partition-level error the node reported (e.g. LEADER_NOT_AVAILABLE), or nil.
        public var error: KafkaErrorCode?
    }

    /// One topic and its partitions, ordered by index.
    public struct Topic: Sendable, Hashable {
        public var name: TopicName
        public var isInternal: Bool
        public var partitions: [Partition]
    }

    /// Brokers by id.
    public var brokers: [NodeID: Broker]
    /// The node acting as controller, if the cluster has one.
    public var controllerID: NodeID?
    public var clusterID: String?
    /// Topics by name (only those asked about, or all when all were asked about).
    public var topics: [TopicName: Topic]

    public init(brokers: [NodeID: Broker] = [:], controllerID: NodeID? = nil, clusterID: String? = nil,
                topics: [TopicName: Topic] = [:]) {
        self.brokers = brokers
        self.controllerID = controllerID
        self.clusterID = clusterID
        self.topics = topics
    }

    /// The number of partitions of `topic`, nil if the topic is unknown.
    public func partitionCount(of topic: TopicName) -> Int? {
        topics[topic]?.partitions.count
    }

    /// The current leader of `partition`, nil if unknown or leaderless.
    public func leader(of partition: TopicPartition) -> NodeID? {
        guard let topic = topics[partition.topic] else { return nil }
        let index = Int(partition.partition.rawValue)
        guard topic.partitions.indices.contains(index), topic.partitions[index].index == partition.partition else {
            return topic.partitions.first { $0.index == partition.partition }?.leader
        }
        return topic.partitions[index].leader
    }

    /// Brokers sorted by id.
    public var sortedBrokers: [Broker] { brokers.values.sorted { $0.id < $1.id } }

    /// Reads a Metadata response. Topics with a topic-level error (UNKNOWN_TOPIC_OR_PARTITION
    /// for one that does not exist) are left out.
    init(_ response: MetadataResponse) {
        var brokers: [NodeID: Broker] = [:]
        for broker in response.brokers {
            brokers[broker.nodeID] = Broker(id: broker.nodeID, host: broker.host, port: Int(broker.port),
                                            rack: broker.rack)
        }
        self.brokers = brokers
        controllerID = response.controllerID.rawValue >= 0 ? response.controllerID : nil
        clusterID = response.clusterID
        var topics: [TopicName: Topic] = [:]
        for topic in response.topics where topic.errorCode == 0 {
            guard let name = TopicName(rawValue: topic.name) else { continue }
            let partitions = topic.partitions.map { partition in
                Partition(
                    index: partition.partitionIndex,
                    leader: partition.leaderID.rawValue >= 0 ? partition.leaderID : nil,
                    leaderEpoch: partition.leaderEpoch, replicas: partition.replicaNodes,
                    inSyncReplicas: partition.isrNodes, offlineReplicas: partition.offlineReplicas,
                    error: partition.errorCode == 0 ? nil : KafkaErrorCode(rawValue: partition.errorCode)
                        ?? .unknownServerError)
            }.sorted { $0.index < $1.index }
            topics[name] = Topic(name: name, isInternal: topic.isInternal, partitions: partitions)
        }
        self.topics = topics
    }

    /// `other`'s brokers and controller, with `other`'s topics replacing or adding to these;
    /// topics `other` does not mention are kept unless `keepingUnmentioned` is false (an answer
    /// about every topic) or they are in `missing` (asked about, not found).
    ///
    /// A partition whose leader epoch in `other` is older than the one known here keeps what is
    /// known (Kafka's `Metadata.updateLatestMetadata`, KIP-320): nodes apply the metadata log at
    /// their own pace, and a lagging one still names the leader an election has deposed, which
    /// would send produces and fetches back to it. Those partitions are returned in
    /// `keptOverOlderEpoch`. An answer without an epoch (-1, Metadata before v7), or for a
    /// partition in `acceptingOlderEpochs`, is taken as it is.
    func merging(_ other: ClusterMetadata, forgetting missing: [TopicName], keepingUnmentioned: Bool = true,
                 acceptingOlderEpochs: Set<TopicPartition> = [])
        -> (metadata: ClusterMetadata, keptOverOlderEpoch: Set<TopicPartition>)
    {
        var merged = other
        var kept: Set<TopicPartition> = []
        for (name, known) in topics {
            if var fresh = other.topics[name] {
                let knownByIndex = Dictionary(known.partitions.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
                fresh.partitions = fresh.partitions.map { partition in
                    guard let cached = knownByIndex[partition.index], partition.leaderEpoch.rawValue >= 0,
                        partition.leaderEpoch < cached.leaderEpoch,
                        !acceptingOlderEpochs.contains(TopicPartition(name, partition.index))
                    else { return partition }
                    kept.insert(TopicPartition(name, partition.index))
                    return cached
                }
                merged.topics[name] = fresh
            } else if keepingUnmentioned && !missing.contains(name) {
                merged.topics[name] = known
            }
        }
        return (merged, kept)
    }
}
