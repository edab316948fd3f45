import NIOCore
import SluiceCore
import SluiceRecords

/// The producer's buffer: per partition, the open batch records are appended to and the sealed
/// batches waiting to be sent; plus the buffer-memory account and the callers waiting for room.
///
/// Pure state (no clock, no I/O): the producer calls it under a lock with the time passed in,
/// and performs what it returns (resume waiters, wake the sender).
struct RecordAccumulator {
    struct PartitionQueue {
        var open: ProducerBatch?
        /// Oldest first.
        var sealed = CircularBuffer<ProducerBatch>()
    }

    let codec: CompressionCodec
    let batchBytes: Int
    let linger: Duration
    let memoryBytesMax: Int

    private(set) var partitions: [TopicPartition: PartitionQueue] = [:]
    /// Bytes held by records accepted and not yet completed. Invariant: ≤ memoryBytesMax.
    private(set) var memoryBytesUsed = 0
    /// Callers waiting for `bytes` of room, oldest first.
    private var memoryWaiters = CircularBuffer<(bytes: Int, continuation: CheckedContinuation<Void, Never>)>()
    private var nextBatchID: UInt64 = 1
    /// Set by flush and close: every open batch is sealed at the next drain.
    var sealEverything = false
    private(set) var isClosed = false

    init(codec: CompressionCodec, batchBytes: Int, linger: Duration, memoryBytesMax: Int) {
        self.codec = codec
        self.batchBytes = batchBytes
        self.linger = linger
        self.memoryBytesMax = memoryBytesMax
    }

    enum ReserveOutcome {
        case reserved
        /// Not enough buffer memory (or others wait already): wait and try again.
        case full
        case closed
    }

    /// Takes `bytes` of buffer memory for a record about to be appended.
    mutating func reserve(_ bytes: Int) -> ReserveOutcome {
        if isClosed { return .closed }
        guard memoryWaiters.isEmpty, memoryBytesUsed + bytes <= memoryBytesMax else { return .full }
        memoryBytesUsed += bytes
        return .reserved
    }

    enum AppendOutcome {
        /// Appended; `wakeSender` when a batch became ready or a new linger clock started.
        case appended(wakeSender: Bool)
        /// Closed meanwhile: the caller releases the reservation.
        case closed
    }

    /// Appends a record of `bytes` (its estimated size, reserved with ``reserve(_:)``) to
    /// `partition`'s open batch, opening a new one (and sealing the full one) as needed.
    mutating func append(_ record: ProducerRecord, bytes: Int, to partition: TopicPartition,
                         timestamp: RecordTimestamp, report: DeliveryReport?,
                         now: ContinuousClock.Instant) -> AppendOutcome {
        if isClosed { return .closed }
        var queue = partitions.removeValue(forKey: partition) ?? PartitionQueue()
        var wake = false
        if let open = queue.open, !fits(bytes, in: open) {
            queue.sealed.append(open)
            queue.open = nil
            wake = true
        }
        if queue.open == nil {
            queue.open = ProducerBatch(id: nextBatchID, partition: partition, codec: codec, createdAt: now)
            nextBatchID += 1
            wake = true
        }
        queue.open?.append(record, bytes: bytes, timestamp: timestamp, report: report)
        if let open = queue.open, open.builder.uncompressedRecordBytes >= batchBytes {
            queue.sealed.append(open)
            queue.open = nil
            wake = true
        }
        partitions[partition] = queue
        return .appended(wakeSender: wake || linger == .zero)
    }

    private func fits(_ bytes: Int, in batch: ProducerBatch) -> Bool {
        batch.builder.uncompressedRecordBytes + bytes <= batchBytes && batch.recordCount < Limits.batchRecordsMax
    }

    /// Queues a caller until `bytes` fit; false if they fit already (the caller retries at once).
    mutating func waitForMemory(_ bytes: Int, _ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if isClosed || (memoryWaiters.isEmpty && memoryBytesUsed + bytes <= memoryBytesMax) { return false }
        memoryWaiters.append((bytes, continuation))
        return true
    }

    /// Returns a completed batch's memory; the waiters that now fit are to be resumed.
    mutating func release(_ bytes: Int) -> [CheckedContinuation<Void, Never>] {
        memoryBytesUsed -= bytes
        precondition(memoryBytesUsed >= 0, "released more buffer memory than was used")
        var resumed: [CheckedContinuation<Void, Never>] = []
        var room = memoryBytesMax - memoryBytesUsed
        while let first = memoryWaiters.first, first.bytes <= room {
            room -= first.bytes
            resumed.append(memoryWaiters.removeFirst().continuation)
        }
        return resumed
    }

    /// Seals open batches whose linger has passed (or all, after a flush), then takes up to
    /// `allowance(partition)` sealed batches of each partition, oldest first.
    mutating func drain(now: ContinuousClock.Instant, allowance: (TopicPartition) -> Int) -> [ProducerBatch] {
        var drained: [ProducerBatch] = []
        for partition in Array(partitions.keys) {
            guard var queue = partitions[partition] else { continue }
            if let open = queue.open, sealEverything || now - open.createdAt >= linger {
                queue.sealed.append(open)
                queue.open = nil
            }
            if !queue.sealed.isEmpty {
                var budget = allowance(partition)
                while budget > 0, let batch = queue.sealed.popFirst() {
                    drained.append(batch)
                    budget -= 1
                }
            }
            partitions[partition] = queue.open == nil && queue.sealed.isEmpty ? nil : queue
        }
        if partitions.values.allSatisfy({ $0.open == nil }) { sealEverything = false }
        return drained
    }

    /// When the oldest open batch's linger ends (nil: no open batch).
    var nextLingerDeadline: ContinuousClock.Instant? {
        partitions.values.compactMap { $0.open?.createdAt }.min().map { $0 + linger }
    }

    /// Whether some sealed batch waits to be sent.
    var hasSealedBatches: Bool { partitions.values.contains { !$0.sealed.isEmpty } }

    /// Ids of every batch not yet handed to the sender.
    var batchIDs: [UInt64] {
        partitions.values.flatMap { queue in queue.sealed.map(\.id) + (queue.open.map { [$0.id] } ?? []) }
    }

    /// Removes sealed and open batches created before `cutoff` (their delivery timeout passed
    /// while no leader could take them).
    mutating func expire(createdBefore cutoff: ContinuousClock.Instant) -> [ProducerBatch] {
        var expired: [ProducerBatch] = []
        for (partition, var queue) in partitions {
            while let first = queue.sealed.first, first.createdAt < cutoff { expired.append(queue.sealed.removeFirst()) }
            if queue.sealed.isEmpty, let open = queue.open, open.createdAt < cutoff {
                expired.append(open)
                queue.open = nil
            }
            partitions[partition] = queue.open == nil && queue.sealed.isEmpty ? nil : queue
        }
        return expired
    }

    /// Stops accepting records; returns the callers waiting for memory (they then see `closed`).
    mutating func close() -> [CheckedContinuation<Void, Never>] {
        isClosed = true
        sealEverything = true
        let waiters = memoryWaiters.map(\.continuation)
        memoryWaiters.removeAll()
        return waiters
    }
}

extension ProducerBatch {
    /// Appends one record; only records with a report remember their timestamp.
    mutating func append(_ record: ProducerRecord, bytes: Int, timestamp: RecordTimestamp, report: DeliveryReport?) {
        if let report { reports.append((Int32(recordCount), timestamp, report)) }
        builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        memoryBytes += bytes
    }
}
