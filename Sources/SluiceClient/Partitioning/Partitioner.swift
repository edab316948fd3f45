import NIOCore
import SluiceCore

/// Chooses the partition of a record. Conform to route records your own way; the producer
/// calls it once per record (so keep it cheap) with the topic's current partition count.
///
/// ```swift
/// /// Priority records go to partition 0; the rest spread over the others by key.
/// struct PriorityPartitioner: Partitioner {
///     func partition(for record: ProducerRecord, partitionCount: Int) -> PartitionIndex {
///         if record.headers.contains(where: { $0.key == "priority" }) || partitionCount == 1 { return 0 }
///         let rest = Partitioning.keyHash(record.key, hasher: .murmur2, partitionCount: partitionCount - 1)
///         return PartitionIndex(rest.rawValue + 1)
///     }
/// }
/// let producer = client.makeProducer(.init(partitioning: .custom(PriorityPartitioner())))
/// ```
/// A returned index outside `0..<partitionCount` fails that record's send with
/// ``SluiceClientError/unknownPartition(_:partitionCount:)``.
public protocol Partitioner: Sendable {
    /// The partition for `record` among `partitionCount` (≥ 1) partitions of `record.topic`.
    func partition(for record: ProducerRecord, partitionCount: Int) -> PartitionIndex
}

/// How the producer picks a record's partition: set once per producer
/// (``ProducerOptions/partitioning``), or per record (``ProducerRecord/partitioning``) to
/// override it.
public enum Partitioning: Sendable {
    /// Round-robin over the topic's partitions, one record at a time, per topic.
    case balanced
    /// Always this partition.
    case partition(PartitionIndex)
    /// By the hash of `key` (not necessarily the record's key) with `hasher`. A nil key is
    /// spread like ``balanced``.
    case key([UInt8]?, hasher: KeyHasherKind)
    /// By the hash of the record's own key with `hasher`; records without a key are spread like
    /// ``balanced``. `.recordKey(.murmur2)` is the producer's default and places keys as Kafka's
    /// Java client and kafka-python do; `.recordKey(.crc32)` as librdkafka (confluent-kafka, kcat).
    case recordKey(KeyHasherKind)
    /// Your own rule.
    case custom(any Partitioner)

    /// `.key(bytes, hasher: .murmur2)`.
    public static func key(_ bytes: [UInt8]?) -> Partitioning { .key(bytes, hasher: .murmur2) }

    /// `.key(Array(string.utf8), hasher:)`.
    public static func key(_ string: String, hasher: KeyHasherKind = .murmur2) -> Partitioning {
        .key(Array(string.utf8), hasher: hasher)
    }

    /// The partition of `key` among `partitionCount` partitions with `hasher`, as
    /// ``recordKey(_:)`` computes it (nil key: partition 0). Offline: use it to predict where
    /// a key goes, or inside a custom ``Partitioner``.
    public static func keyHash(_ key: ByteBuffer?, hasher: KeyHasherKind, partitionCount: Int) -> PartitionIndex {
        guard let key, partitionCount > 0 else { return 0 }
        let count = Int32(clamping: partitionCount)
        return key.withUnsafeReadableBytes { hasher.hasher.partition(forKey: $0, count: count) }
    }

    /// ``keyHash(_:hasher:partitionCount:)`` for a byte array.
    public static func keyHash(_ key: [UInt8], hasher: KeyHasherKind, partitionCount: Int) -> PartitionIndex {
        guard partitionCount > 0 else { return 0 }
        return hasher.hasher.partition(forKey: key, count: Int32(clamping: partitionCount))
    }
}
