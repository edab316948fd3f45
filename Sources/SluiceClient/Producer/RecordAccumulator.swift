import NIOCore
import SluiceCore
import SluiceRecords

/// The producer's buffer: per topic its partition count and round-robin position, per
/// partition the open batch records are appended to and the sealed batches waiting to be sent;
/// plus the buffer-memory account and the callers waiting for room.
///
/// Pure state (no clock, no I/O): the producer calls it under a lock with the time passed in,
/// and performs what it returns (resume waiters, wake the sender). One call admits a record
/// (finds its topic, reserves its memory, picks a round-robin partition, appends it to the open
/// batch in place): the producer's fast path takes one lock per record and awaits nothing.
struct RecordAccumulator {
    let codec: CompressionCodec
    let batchBytes: Int
    let linger: Duration
    let memoryBytesMax: Int

    /// Every topic the producer has written to (or learned the partition count of). Entries are
    /// never removed: bounded by the topics a producer writes to, as their partition counts are.
    private var topics: [TopicName: TopicQueues] = [:]
    /// The topic of the last record: most records go where the previous one went, and comparing
    /// a name is cheaper than hashing it.
    private var lastTopic: TopicQueues?
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

    // MARK: topics

    /// The partition count records of `topic` are partitioned by; nil until learned.
    func partitionCount(of topic: TopicName) -> Int? {
        if let last = lastTopic, last.topic == topic { return last.partitionCount }
        return topics[topic]?.partitionCount
    }

    /// Sets `topic`'s partition count (ignored unless positive), adding the topic if new.
    mutating func setPartitionCount(_ count: Int, of topic: TopicName) {
        guard count > 0 else { return }
        if let known = topics[topic] {
            known.partitionCount = count
        } else {
            topics[topic] = TopicQueues(topic, partitionCount: count)
        }
    }

    /// The topics whose partition counts the producer keeps current.
    var topicNames: [TopicName] { Array(topics.keys) }

    private mutating func queues(of topic: TopicName) -> TopicQueues? {
        if let last = lastTopic, last.topic == topic { return last }
        guard let found = topics[topic] else { return nil }
        lastTopic = found
        return found
    }

    /// Every partition queue, topic by topic.
    private var allQueues: some Sequence<PartitionQueue> { topics.values.lazy.flatMap(\.queues) }

    // MARK: memory

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

    // MARK: appending

    /// Which partition of its topic a record goes to.
    enum Placement: Sendable {
        /// The topic's next partition in round-robin order (chosen under the lock).
        case roundRobin
        /// This partition (chosen by the producer's partitioning; below the partition count).
        case partition(PartitionIndex)
    }

    enum AppendOutcome: Equatable {
        /// Appended; `wakeSender` when a batch became ready or a new linger clock started.
        case appended(wakeSender: Bool)
        /// The topic's partition count is not known yet: learn it and try again.
        case unknownTopic
        /// Not reserved, and the buffer memory is full (or others wait): wait and try again.
        case full
        /// Closed: nothing appended (a reservation made before is the caller's to release).
        case closed
    }

    /// Appends a record of `bytes` (its estimated size) to its partition's open batch, opening a
    /// new one (and sealing the full one) as needed; reserves `bytes` first unless `reserved`.
    /// `now` is read only when a batch opens (its linger starts).
    mutating func append(_ record: ProducerRecord, bytes: Int, placement: Placement, reserved: Bool,
                         timestamp: RecordTimestamp, report: DeliveryReport?,
                         now: () -> ContinuousClock.Instant) -> AppendOutcome {
        if isClosed { return .closed }
        guard let topic = queues(of: record.topic) else { return .unknownTopic }
        if !reserved, case .full = reserve(bytes) { return .full }
        let queue: PartitionQueue
        switch placement {
        case .roundRobin: queue = topic.queue(topic.nextRoundRobin())
        case .partition(let index): queue = topic.queue(index)
        }
        let wake = queue.append(record, bytes: bytes, timestamp: timestamp, report: report, batchBytes: batchBytes) {
            defer { nextBatchID += 1 }
            return ProducerBatch(id: nextBatchID, partition: queue.partition, codec: codec, createdAt: now())
        }
        return .appended(wakeSender: wake || linger == .zero)
    }

    // MARK: the sender's side

    /// Seals open batches whose linger has passed (or all, after a flush), then takes up to
    /// `allowance(partition)` sealed batches of each partition, oldest first.
    mutating func drain(now: ContinuousClock.Instant, allowance: (TopicPartition) -> Int) -> [ProducerBatch] {
        var drained: [ProducerBatch] = []
        var someOpen = false
        for queue in allQueues {
            if let createdAt = queue.open?.createdAt, sealEverything || now - createdAt >= linger { queue.seal() }
            if !queue.sealed.isEmpty {
                var budget = allowance(queue.partition)
                while budget > 0, let batch = queue.sealed.popFirst() {
                    drained.append(batch)
                    budget -= 1
                }
            }
            if queue.openRecords > 0 { someOpen = true }
        }
        if !someOpen { sealEverything = false }
        return drained
    }

    /// Whether no record is buffered (every batch was handed to the sender).
    var isEmpty: Bool { allQueues.allSatisfy(\.isEmpty) }

    /// When the oldest open batch's linger ends (nil: no open batch).
    var nextLingerDeadline: ContinuousClock.Instant? {
        allQueues.compactMap { $0.open?.createdAt }.min().map { $0 + linger }
    }

    /// Whether some sealed batch waits to be sent.
    var hasSealedBatches: Bool { allQueues.contains { !$0.sealed.isEmpty } }

    /// Ids of every batch not yet handed to the sender.
    var batchIDs: [UInt64] {
        Array(allQueues.flatMap { queue in queue.sealed.map(\.id) + (queue.open.map { [$0.id] } ?? []) })
    }

    /// Removes sealed and open batches created before `cutoff` (their delivery timeout passed
    /// while no leader could take them).
    mutating func expire(createdBefore cutoff: ContinuousClock.Instant) -> [ProducerBatch] {
        var expired: [ProducerBatch] = []
        for queue in allQueues {
            while let first = queue.sealed.first, first.createdAt < cutoff { expired.append(queue.sealed.removeFirst()) }
            if queue.sealed.isEmpty, let createdAt = queue.open?.createdAt, createdAt < cutoff, let open = queue.takeOpen() {
                expired.append(open)
            }
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
    /// Appends one record; only records with a report remember their timestamp. Returns the
    /// batch's uncompressed bytes now.
    mutating func append(_ record: ProducerRecord, bytes: Int, timestamp: RecordTimestamp, report: DeliveryReport?) -> Int {
        if let report { reports.append((Int32(recordCount), timestamp, report)) }
        builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        memoryBytes += bytes
        return builder.uncompressedRecordBytes
    }
}
