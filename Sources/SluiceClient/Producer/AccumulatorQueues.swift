import NIOCore
import SluiceCore
import SluiceRecords

/// One partition's batches in the ``RecordAccumulator``: the open batch records are appended to
/// and the sealed batches waiting to be sent. A class, so that a record is appended to the open
/// batch in place: a copy of the batch per record was most of the producer's per-record cost.
///
/// `@unchecked Sendable`: mutable without a lock of its own, it is only reached through the
/// ``RecordAccumulator``, which the producer only reaches under its `Mutex`.
final class PartitionQueue: @unchecked Sendable {
    let partition: TopicPartition
    private(set) var open: ProducerBatch?
    /// The open batch's records and uncompressed bytes (0 without one), kept beside it so the
    /// per-record checks read no batch (reading through `open` copies it).
    private(set) var openRecords = 0
    private(set) var openBytes = 0
    /// Oldest first.
    var sealed = CircularBuffer<ProducerBatch>()

    init(_ partition: TopicPartition) {
        self.partition = partition
    }

    var isEmpty: Bool { openRecords == 0 && sealed.isEmpty }

    /// Appends a record of `bytes` (estimated) to the open batch, first sealing it if the record
    /// does not fit and opening a new one with `makeBatch` if none is open; then seals it if it
    /// reached `batchBytes`. Returns whether a batch opened or sealed (the sender has work).
    func append(_ record: ProducerRecord, bytes: Int, timestamp: RecordTimestamp, report: DeliveryReport?,
                batchBytes: Int, makeBatch: () -> ProducerBatch) -> Bool {
        var changed = false
        if openRecords > 0 && (openBytes + bytes > batchBytes || openRecords >= Limits.batchRecordsMax) {
            seal()
            changed = true
        }
        if openRecords == 0 {
            open = makeBatch()
            changed = true
        }
        openBytes = open?.append(record, bytes: bytes, timestamp: timestamp, report: report) ?? 0
        openRecords += 1
        if openBytes >= batchBytes {
            seal()
            changed = true
        }
        return changed
    }

    /// Moves the open batch (if any) behind the sealed ones.
    func seal() {
        guard let batch = takeOpen() else { return }
        sealed.append(batch)
    }

    /// Removes and returns the open batch.
    func takeOpen() -> ProducerBatch? {
        defer {
            open = nil
            openRecords = 0
            openBytes = 0
        }
        return open
    }
}

/// One topic in the ``RecordAccumulator``: its partition count (from metadata), its
/// round-robin position and its partitions' queues indexed by partition, so a record looks its
/// topic up once and its partition by index. `@unchecked Sendable` as ``PartitionQueue`` is.
final class TopicQueues: @unchecked Sendable {
    let topic: TopicName
    /// The count records are partitioned by (at least 1).
    var partitionCount: Int
    /// Index = partition; grown on demand up to the highest partition written to.
    private(set) var queues: [PartitionQueue] = []
    /// The next round-robin position (``Partitioning/balanced`` and records without a key).
    private var roundRobin: UInt32 = 0

    init(_ topic: TopicName, partitionCount: Int) {
        precondition(partitionCount > 0, "a topic has at least one partition")
        self.topic = topic
        self.partitionCount = partitionCount
    }

    /// The next partition in round-robin order, per topic, as `PartitionChooser` counts.
    func nextRoundRobin() -> PartitionIndex {
        let position = roundRobin
        roundRobin &+= 1
        return PartitionIndex(Int32(position % UInt32(partitionCount)))
    }

    /// The queue of `partition` (a valid index: chosen below a partition count).
    func queue(_ partition: PartitionIndex) -> PartitionQueue {
        let index = Int(partition.rawValue)
        precondition(index >= 0, "partition indexes are not negative")
        if index < queues.count { return queues[index] }
        while queues.count <= index {
            queues.append(PartitionQueue(TopicPartition(topic, PartitionIndex(Int32(queues.count)))))
        }
        return queues[index]
    }
}
