import SluiceCore

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: TopicName
    /// -1: the cluster's default.
    public var partitionCount: Int32
    /// -1: the cluster's default.
    public var replicationFactor: Int16
    /// Topic configs (`retention.ms`, `cleanup.policy`, …).
    public var configs: [String: String]

    public init(name: TopicName, partitionCount: Int32 = -1, replicationFactor: Int16 = -1,
                configs: [String: String] = [:]) {
        self.name = name
        self.partitionCount = partitionCount
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// A topic as ``AdminClient/describeTopic(_:)`` sees it.
public struct TopicDescription: Sendable, Hashable {
    public var name: TopicName
    public var isInternal: Bool
    public var partitions: [PartitionDescription]

    /// Records in the topic (the sum of every partition's end minus start offset).
    public var recordCount: Int64 { partitions.reduce(0) { $0 + ($1.recordCount ?? 0) } }
}

/// One partition: where it lives and which offsets it holds.
public struct PartitionDescription: Sendable, Hashable {
    public var index: PartitionIndex
    public var leader: NodeID?
    public var leaderEpoch: LeaderEpoch
    public var replicas: [NodeID]
    public var inSyncReplicas: [NodeID]
    public var offlineReplicas: [NodeID]
    /// The first offset still in the log (ListOffsets, earliest); nil if the leader could not
    /// be asked.
    public var logStartOffset: Offset?
    /// The offset the next record will get (ListOffsets, latest: the high watermark).
    public var logEndOffset: Offset?

    /// Records the partition holds: `logEndOffset − logStartOffset` (nil if either is unknown).
    /// Offsets are dense in this cluster (no compaction or transactions), so it is exact.
    public var recordCount: Int64? {
        guard let start = logStartOffset, let end = logEndOffset else { return nil }
        return max(0, start.distance(to: end))
    }
}

/// The cluster as ``AdminClient/describeCluster()`` sees it.
public struct ClusterDescription: Sendable, Hashable {
    public var clusterID: String?
    public var controllerID: NodeID?
    /// Sorted by id.
    public var nodes: [ClusterMetadata.Broker]
}

/// One configuration value of a topic or node (DescribeConfigs).
public struct ConfigEntry: Sendable, Hashable {
    public var name: String
    public var value: String?
    public var isDefault: Bool
    public var isReadOnly: Bool
    public var isSensitive: Bool
}
