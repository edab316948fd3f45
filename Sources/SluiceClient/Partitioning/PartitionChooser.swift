import NIOCore
import SluiceCore
import Synchronization

/// Applies a ``Partitioning`` to records: the producer's one place that turns a record and a
/// partition count into a partition index. Holds the round-robin counters of `.balanced`
/// (one per topic), so one chooser lives as long as its producer.
final class PartitionChooser: Sendable {
    /// The next round-robin position per topic. Bounded by the topics a producer writes to.
    private let counters = Mutex<[TopicName: UInt32]>([:])

    /// The partition for `record` under `partitioning` (the record's own override first);
    /// throws ``SluiceClientError/unknownPartition(_:partitionCount:)`` for an index outside
    /// `0..<partitionCount`.
    func partition(for record: ProducerRecord, default partitioning: Partitioning,
                   partitionCount: Int) throws(SluiceClientError) -> PartitionIndex {
        precondition(partitionCount > 0, "a topic has at least one partition")
        let chosen: PartitionIndex
        switch record.partitioning ?? partitioning {
        case .balanced:
            chosen = nextBalanced(record.topic, partitionCount)
        case .partition(let index):
            chosen = index
        case .key(let key, let hasher):
            if let key {
                chosen = Partitioning.keyHash(key, hasher: hasher, partitionCount: partitionCount)
            } else {
                chosen = nextBalanced(record.topic, partitionCount)
            }
        case .recordKey(let hasher):
            if let key = record.key {
                chosen = Partitioning.keyHash(key, hasher: hasher, partitionCount: partitionCount)
            } else {
                chosen = nextBalanced(record.topic, partitionCount)
            }
        case .custom(let partitioner):
            chosen = partitioner.partition(for: record, partitionCount: partitionCount)
        }
        guard chosen.rawValue >= 0 && Int(chosen.rawValue) < partitionCount else {
            throw .unknownPartition(TopicPartition(record.topic, chosen), partitionCount: partitionCount)
        }
        return chosen
    }

    private func nextBalanced(_ topic: TopicName, _ partitionCount: Int) -> PartitionIndex {
        let position = counters.withLock { counters -> UInt32 in
            let value = counters[topic, default: 0]
            counters[topic] = value &+ 1
            return value
        }
        return PartitionIndex(Int32(position % UInt32(partitionCount)))
    }
}
