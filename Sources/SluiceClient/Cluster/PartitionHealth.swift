import SluiceCore

/// A partition's leader and replica lists, and what they say about its health, flagged the way
/// Kafka's `kafka-topics --describe --under-replicated-partitions / --unavailable-partitions`
/// flags it. Shared by ``ClusterMetadata/Partition`` and ``PartitionDescription``, so
/// `sluice topic describe` and `sluice cluster status` count the same partitions.
public protocol PartitionHealth {
    /// nil while the partition has no leader.
    var leader: NodeID? { get }
    var replicas: [NodeID] { get }
    var inSyncReplicas: [NodeID] { get }
}

extension PartitionHealth {
    /// Fewer in-sync replicas than replicas: one has fallen behind or its node is down, so the
    /// partition survives fewer failures than its replication factor promises.
    public var isUnderReplicated: Bool { inSyncReplicas.count < replicas.count }
    /// No leader: the partition serves no reads or writes until the controller elects one.
    public var isOffline: Bool { leader == nil }
}

extension ClusterMetadata.Partition: PartitionHealth {}
extension PartitionDescription: PartitionHealth {}
