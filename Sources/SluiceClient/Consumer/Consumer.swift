import SluiceCore

/// Reads records: from partitions it is given (``assign(_:from:)``) or as a member of a group
/// (``subscribe(to:)``), as an `AsyncSequence`.
///
/// ```swift
/// let consumer = client.makeConsumer(ConsumerOptions(groupID: "billing"))
/// try await consumer.subscribe(to: [TopicName("orders")!])
/// for try await record in consumer {
///     handle(record)
/// }
/// ```
/// Records of one partition arrive in offset order. Fetches run ahead of the caller (bounded
/// by ``ConsumerOptions/prefetchRecordsMax``), one request per partition leader. Iterate with
/// one loop at a time; ``close()`` ends the sequence.
public final class Consumer: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    public typealias Failure = SluiceClientError

    let engine: ConsumerEngine

    init(engine: ConsumerEngine) {
        self.engine = engine
    }

    /// Joins the consumer's group and consumes the partitions the group assigns it from
    /// `topics`. Throws if the options have no group id or are unusable.
    public func subscribe(to topics: [TopicName]) async throws(SluiceClientError) {
        try await engine.subscribe(to: topics)
    }

    /// Consumes exactly `partitions` (no group membership), each starting at `position`.
    /// Replaces any earlier assignment.
    public func assign(_ partitions: [TopicPartition], from position: ConsumerPosition = .committed)
        async throws(SluiceClientError)
    {
        try await engine.assign(partitions, from: position)
    }

    /// Moves `partition` (which must be assigned) to `position`; records buffered from before
    /// are dropped, and the next record handed out for it comes from there.
    public func seek(_ partition: TopicPartition, to position: ConsumerPosition) async throws(SluiceClientError) {
        try await engine.seek(partition, to: position)
    }

    /// The offset of the next record the sequence hands out for `partition` (looked up first if
    /// the partition's start is not known yet), as Kafka's `position`.
    public func position(_ partition: TopicPartition) async throws(SluiceClientError) -> Offset {
        try await engine.position(partition)
    }

    /// The partitions the consumer reads now.
    public func assignment() async -> [TopicPartition] {
        await engine.assignedPartitions()
    }

    /// Commits, for every partition, the offset after the last record handed out. Throws a
    /// ``SluiceClientError/server(_:api:resource:message:)`` with REBALANCE_IN_PROGRESS,
    /// ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID if the group moved on (the records since the
    /// last commit will be read again by whoever owns the partition next).
    public func commit() async throws(SluiceClientError) {
        try await engine.commitConsumed()
    }

    /// Commits exactly `offsets` (each the next offset to read in its partition).
    public func commit(_ offsets: [TopicPartition: Offset]) async throws(SluiceClientError) {
        try await engine.commit(offsets)
    }

    /// The group's committed offset of each of `partitions` (nil: none committed).
    public func committed(_ partitions: [TopicPartition]) async throws(SluiceClientError) -> [TopicPartition: Offset] {
        try await engine.fetchCommitted(partitions)
    }

    /// Commits what was handed out (unless the policy is `.manual`), leaves the group, and
    /// ends the sequence. Safe to call twice.
    public func close() async {
        await engine.close()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(engine: engine)
    }

    /// Hands out the records the consumer has fetched, one by one. Breaking out of a loop
    /// loses nothing: the next loop continues with the next record.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let engine: ConsumerEngine

        /// The next record; nil once the consumer is closed.
        public mutating func next() async throws(SluiceClientError) -> ConsumerRecord? {
            while true {
                if let record = engine.ledger.next() { return record }
                guard try await engine.refill() else { return nil }
            }
        }
    }
}

extension SluiceClient {
    /// A consumer reading through this client's connections (group requests use a connection
    /// of their own). Throws nothing here; unusable options fail the first call.
    public func makeConsumer(_ options: ConsumerOptions = .init()) -> Consumer {
        Consumer(engine: ConsumerEngine(cluster: cluster, options: options))
    }
}
