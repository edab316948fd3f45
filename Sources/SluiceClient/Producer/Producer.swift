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
        let admitted = try await admit(record)
        do {
            return try await withCheckedThrowingContinuation { continuation in
                append(record, admitted, report: .continuation(continuation))
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
        let admitted = try await admit(record, reserving: false)
        let report = onDelivery.map { DeliveryReport.callback($0) }
        // The common case takes one lock: room is reserved and the record appended together.
        let outcome = shared.accumulator.withLock { accumulator -> RecordAccumulator.AppendOutcome? in
            guard case .reserved = accumulator.reserve(admitted.bytes) else { return nil }
            return accumulator.append(record, bytes: admitted.bytes, to: admitted.partition,
                                      timestamp: admitted.timestamp, report: report, now: .now)
        }
        switch outcome {
        case .appended(let wakeSender)?:
            if wakeSender { shared.wake.signal() }
        case .closed?:
            shared.release(admitted.bytes)
            throw .closed
        case nil:
            try await reserve(admitted.bytes)
            append(record, admitted, report: report)
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

    private struct Admitted {
        var partition: TopicPartition
        var bytes: Int
        var timestamp: RecordTimestamp
    }

    /// Checks the record, picks its partition and (if `reserving`) reserves its buffer memory.
    private func admit(_ record: ProducerRecord, reserving: Bool = true) async throws(SluiceClientError) -> Admitted {
        guard invalidOptions.isEmpty else { throw .invalidConfiguration(invalidOptions) }
        let bytes = record.estimatedBytes
        guard bytes <= options.recordBytesMax else { throw .recordTooLarge(bytes: bytes, bytesMax: options.recordBytesMax) }
        let count = try await partitionCount(of: record.topic)
        let partition = try chooser.partition(for: record, default: options.partitioning, partitionCount: count)
        if reserving { try await reserve(bytes) }
        return Admitted(partition: TopicPartition(record.topic, partition), bytes: bytes,
                        timestamp: record.timestamp ?? Self.now())
    }

    private func partitionCount(of topic: TopicName) async throws(SluiceClientError) -> Int {
        if let count = shared.partitionCounts.withLock({ $0[topic] }) { return count }
        let metadata = try await cluster.metadata(topics: [topic], refresh: false)
        guard let count = metadata.partitionCount(of: topic), count > 0 else { throw .unknownTopic(topic) }
        shared.partitionCounts.withLock { $0[topic] = count }
        return count
    }

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

    private func append(_ record: ProducerRecord, _ admitted: Admitted, report: DeliveryReport?) {
        let wake = shared.accumulator.withLock {
            $0.append(record, bytes: admitted.bytes, to: admitted.partition, timestamp: admitted.timestamp,
                      report: report, now: .now)
        }
        switch wake {
        case .appended(let wakeSender):
            if wakeSender { shared.wake.signal() }
        case .closed:
            shared.release(admitted.bytes)
            report?.complete(.failure(.closed))
        }
    }

    /// Milliseconds since the Unix epoch.
    static func now() -> RecordTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return RecordTimestamp(Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}

extension SluiceClient {
    /// A producer sharing this client's connections and metadata. Close it (which flushes)
    /// before closing the client.
    public func makeProducer(_ options: ProducerOptions = .init()) -> Producer {
        Producer(cluster: cluster, options: options)
    }
}
