import NIOCore
import SluiceCore
import SluiceRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends records to a cluster, batched per partition, to each partition's current leader.
///
/// ```swift
/// let producer = client.makeProducer(.init(compression: .lz4))
/// let where = try await producer.send(ProducerRecord(topic: orders, key: "user-42", value: "{…}"))
/// for i in 0..<1_000_000 {   // throughput: don't await each acknowledgement
///     try await producer.sendAndForget(ProducerRecord(topic: events, key: nil, value: payload))
/// }
/// try await producer.flush()  // every record above acknowledged (or the first failure thrown)
/// try await producer.close()
/// ```
/// - Batching: records wait up to ``ProducerOptions/linger`` or until
///   ``ProducerOptions/batchBytes`` fill their partition's batch.
/// - Back-pressure: ``send(_:)`` and ``sendAndForget(_:onDelivery:)`` suspend while
///   ``ProducerOptions/bufferMemoryBytes`` are taken by unacknowledged records.
/// - Delivery: idempotent by default; retries (on a new leader, a lost connection, a timeout)
///   keep each partition's order (see ``ProducerSender``).
public final class Producer: Sendable {
    let cluster: ClusterClient
    let options: ProducerOptions
    private let shared: ProducerShared
    private let sender: ProducerSender
    private let chooser = PartitionChooser()
    /// The sender loop: the one unstructured task of a producer, its lifetime the producer's
    /// (from creation to ``close()``), awaited by `close`.
    private let loop: Task<Void, Never>
    /// Problems with the options: every send fails with them.
    private let invalidOptions: [String]

    init(cluster: ClusterClient, options: ProducerOptions) {
        self.cluster = cluster
        self.options = options
        invalidOptions = options.problems()
        let accumulator = RecordAccumulator(codec: options.compression, batchBytes: options.batchBytes,
                                            linger: options.linger, memoryBytesMax: options.bufferMemoryBytes)
        shared = ProducerShared(accumulator: accumulator, wake: WakeSignal(eventLoop: cluster.group.next()))
        let sender = ProducerSender(cluster: cluster, options: options, shared: shared,
                                    retryBackoff: cluster.configuration.retryBackoff)
        self.sender = sender
        loop = Task { await sender.run() }
    }

    /// Sends `record` and returns where it was written once the node acknowledged it (with
    /// acks=none: once written to the socket, offset unknown).
    public func send(_ record: ProducerRecord) async throws(SluiceClientError) -> RecordMetadata {
        let bytes = try checked(record)
        let timestamp = record.timestamp ?? Self.now()
        let placement = try await placement(for: record)
        try await reserve(bytes)
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let report = DeliveryReport.continuation(continuation)
                let outcome = shared.accumulator.withLock {
                    $0.append(record, bytes: bytes, placement: placement, reserved: true, timestamp: timestamp,
                              report: report, now: { .now })
                }
                switch outcome {
                case .appended(let wakeSender):
                    if wakeSender { shared.wake.signal() }
                case .closed:
                    shared.release(bytes)
                    report.complete(.failure(.closed))
                case .unknownTopic, .full:
                    preconditionFailure("the topic's partition count is known and the memory reserved")
                }
            }
        } catch {
            throw ClusterClient.clientError(error)
        }
    }

    /// Accepts `record` for sending and returns as soon as it is buffered (after waiting for
    /// buffer memory if full): the way to send many records without awaiting each. Its outcome
    /// goes to `onDelivery` if given; otherwise a failure is thrown by the next ``flush()``.
    public func sendAndForget(
        _ record: ProducerRecord,
        onDelivery: (@Sendable (Result<RecordMetadata, SluiceClientError>) -> Void)? = nil
    ) async throws(SluiceClientError) {
        let bytes = try checked(record)
        let report = onDelivery.map { DeliveryReport.callback($0) }
        let timestamp = record.timestamp ?? Self.now()
        // The common case awaits nothing and takes one lock (round-robin) or two (a partition
        // count for a key): the topic is known and room is reserved and the record appended at once.
        var placement = try knownPlacement(for: record)
        var reserved = false
        while true {
            let outcome = placement.map { placement in
                shared.accumulator.withLock {
                    $0.append(record, bytes: bytes, placement: placement, reserved: reserved, timestamp: timestamp,
                              report: report, now: { .now })
                }
            } ?? .unknownTopic
            switch outcome {
            case .appended(let wakeSender):
                if wakeSender { shared.wake.signal() }
                return
            case .closed:
                if reserved { shared.release(bytes) }
                throw .closed
            case .unknownTopic:
                placement = try await self.placement(for: record)
            case .full:
                try await reserve(bytes)
                reserved = true
            }
        }
    }

    /// Sends everything buffered now and waits until it is acknowledged or failed. Throws the
    /// first failure among records sent with `sendAndForget` without a callback since the
    /// last flush.
    public func flush() async throws(SluiceClientError) {
        if let error = await sender.flush() { throw error }
    }

    /// Flushes, then stops the producer: later sends fail with ``SluiceClientError/closed``.
    /// Throws what ``flush()`` would.
    public func close() async throws(SluiceClientError) {
        let flushError = await sender.flush()
        let waiters = shared.accumulator.withLock { $0.close() }
        for waiter in waiters { waiter.resume() }
        await sender.stop()
        await loop.value
        if let flushError { throw flushError }
    }

    // MARK: admission

    /// Checks the options and the record's size; returns its estimated bytes.
    private func checked(_ record: ProducerRecord) throws(SluiceClientError) -> Int {
        guard invalidOptions.isEmpty else { throw .invalidConfiguration(invalidOptions) }
        let bytes = record.estimatedBytes
        guard bytes <= options.recordBytesMax else { throw .recordTooLarge(bytes: bytes, bytesMax: options.recordBytesMax) }
        return bytes
    }

    /// The record's placement if known without waiting: round-robin ones always (the accumulator
    /// picks the partition), others when the topic's partition count is known.
    private func knownPlacement(for record: ProducerRecord) throws(SluiceClientError) -> RecordAccumulator.Placement? {
        let partitioning = record.partitioning ?? options.partitioning
        if partitioning.spreadsRoundRobin(record) { return .roundRobin }
        guard let count = shared.accumulator.withLock({ $0.partitionCount(of: record.topic) }) else { return nil }
        return .partition(try chooser.partition(for: record, default: options.partitioning, partitionCount: count))
    }

    /// The record's placement, learning its topic's partition count first if needed.
    private func placement(for record: ProducerRecord) async throws(SluiceClientError) -> RecordAccumulator.Placement {
        let count = try await partitionCount(of: record.topic)
        let partitioning = record.partitioning ?? options.partitioning
        if partitioning.spreadsRoundRobin(record) { return .roundRobin }
        return .partition(try chooser.partition(for: record, default: options.partitioning, partitionCount: count))
    }

    /// The topic's partition count, from the accumulator or else from metadata (then kept in
    /// the accumulator, where the sender keeps it current).
    private func partitionCount(of topic: TopicName) async throws(SluiceClientError) -> Int {
        if let count = shared.accumulator.withLock({ $0.partitionCount(of: topic) }) { return count }
        let metadata = try await cluster.metadata(topics: [topic], refresh: false)
        guard let count = metadata.partitionCount(of: topic), count > 0 else { throw .unknownTopic(topic) }
        shared.accumulator.withLock { $0.setPartitionCount(count, of: topic) }
        return count
    }

    /// Waits until `bytes` of buffer memory are reserved (back-pressure).
    private func reserve(_ bytes: Int) async throws(SluiceClientError) {
        while true {
            let outcome = shared.accumulator.withLock { $0.reserve(bytes) }
            switch outcome {
            case .reserved: return
            case .closed: throw .closed
            case .full:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let queued = shared.accumulator.withLock { $0.waitForMemory(bytes, continuation) }
                    if !queued { continuation.resume() }
                }
            }
        }
    }

    /// Milliseconds since the Unix epoch.
    static func now() -> RecordTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return RecordTimestamp(Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}

extension Partitioning {
    /// Whether `record` goes round-robin under this partitioning: `.balanced`, or a key-based
    /// one without a key (the cases `PartitionChooser` spreads). The producer counts those in
    /// its accumulator, under the lock it appends with.
    func spreadsRoundRobin(_ record: ProducerRecord) -> Bool {
        switch self {
        case .balanced: true
        case .key(let key, _): key == nil
        case .recordKey: record.key == nil
        case .partition, .custom: false
        }
    }
}

extension SluiceClient {
    /// A producer sharing this client's connections and metadata. Close it (which flushes)
    /// before closing the client.
    public func makeProducer(_ options: ProducerOptions = .init()) -> Producer {
        Producer(cluster: cluster, options: options)
    }
}
