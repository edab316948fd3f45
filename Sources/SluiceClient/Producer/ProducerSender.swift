import NIOCore
import SluiceCore
import SluiceRecords
import SluiceWire

/// The producer's sending half: drains ready batches from the accumulator, stamps each with
/// its partition's next sequence number, sends it to its partition's current leader, and acts
/// on the answers (acknowledge, retry in order, fail, renew the producer id).
///
/// Ordering (per partition): batches are sequenced in the order they are sealed and written to
/// the leader's connection in that order; up to `inFlightBatchesPerPartitionMax` are in flight
/// (1 without idempotence, where the node cannot reject a reordered retry). When one fails
/// retriably, the partition stops sending new batches, waits for its in-flight ones to come
/// back, and resends the failed ones one at a time, lowest sequence first, with the sequence
/// they had, before pipelining resumes. So no batch overtakes an earlier one of its partition.
actor ProducerSender {
    struct PartitionState {
        var nextSequence: Int32 = 0
        /// Sent and unanswered, in sequence order.
        var inFlight: [ProducerBatch] = []
        /// Failed and waiting to be resent, in sequence order.
        var retries: [ProducerBatch] = []
        /// Set after a retriable failure until every earlier batch is acknowledged.
        var recovering = false
        var backoffUntil: ContinuousClock.Instant?
        var isIdle: Bool { inFlight.isEmpty && retries.isEmpty }
    }

    let cluster: ClusterClient
    let options: ProducerOptions
    let shared: ProducerShared
    let retryBackoff: Duration
    let inFlightPerPartitionMax: Int

    var partitions: [TopicPartition: PartitionState] = [:]
    var producerID = ProducerID.none
    var producerEpoch = ProducerEpoch.none
    /// Set when a sequenced batch failed for good: its partition's later sequences would be
    /// out of order, so the producer takes a new id once nothing is in flight.
    var producerIDResetPending = false
    var lastProducerIDAttempt: ContinuousClock.Instant?

    var metadata = ClusterMetadata()
    var metadataStale = true
    var lastMetadataRefresh: ContinuousClock.Instant?
    var connections: [NodeID: BrokerConnection] = [:]

    /// Batches taken from the accumulator and not yet completed (for flush).
    var heldBatchIDs: Set<UInt64> = []
    var flushWaiters: [(ids: Set<UInt64>, continuation: CheckedContinuation<Void, Never>)] = []
    /// The first failure of a record that had no report of its own, for `flush` to throw.
    var unreportedError: SluiceClientError?
    var isStopping = false

    init(cluster: ClusterClient, options: ProducerOptions, shared: ProducerShared, retryBackoff: Duration) {
        self.cluster = cluster
        self.options = options
        self.shared = shared
        self.retryBackoff = retryBackoff
        self.inFlightPerPartitionMax = options.isIdempotent ? options.inFlightBatchesPerPartitionMax : 1
    }

    // MARK: the loop

    /// Runs until ``stop()`` and every batch is completed. Each Produce request's answer is
    /// awaited in a child task, so many requests are in flight while the loop drains more.
    func run() async {
        await withDiscardingTaskGroup { group in
            while true {
                let now = ContinuousClock.now
                expireBuffered(now: now)
                if isStopping && heldBatchIDs.isEmpty && !hasBufferedRecords { break }
                await refreshMetadataIfNeeded(now: now)
                await renewProducerIDIfNeeded(now: now)
                for (node, batches) in takeSendable(now: .now) {
                    await dispatch(batches, to: node, in: &group)
                }
                await shared.wake.wait(until: nextWakeUp(now: .now))
            }
        }
        failEverythingLeft()
    }

    /// Ends the loop once everything buffered is completed (the producer seals it all first).
    func stop() {
        isStopping = true
        shared.wake.signal()
    }

    private var hasBufferedRecords: Bool {
        shared.accumulator.withLock { !$0.isEmpty }
    }

    private func nextWakeUp(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var deadline = shared.accumulator.withLock { $0.nextLingerDeadline }
        let waiting = !heldBatchIDs.isEmpty || shared.accumulator.withLock { $0.hasSealedBatches }
        if waiting || metadataStale || producerIDResetPending {
            // Re-check backoffs, metadata and delivery timeouts at least this often.
            deadline = min(deadline ?? now + retryBackoff, now + retryBackoff)
        }
        return deadline
    }

    // MARK: taking batches

    /// Drains what may be sent now: retries first (one per recovering partition whose in-flight
    /// batches are all back), then new batches within each partition's in-flight allowance.
    /// Every batch is built (sequenced, compressed) here, in partition order.
    private func takeSendable(now: ContinuousClock.Instant) -> [NodeID: [ProducerBatch]] {
        var byNode: [NodeID: [ProducerBatch]] = [:]
        guard !producerIDResetPending, !options.isIdempotent || producerID != .none else { return byNode }
        for (partition, var state) in partitions where !state.retries.isEmpty && state.inFlight.isEmpty {
            guard state.backoffUntil.map({ $0 <= now }) ?? true, let leader = leader(of: partition) else { continue }
            let batch = state.retries.removeFirst()
            state.inFlight.append(batch)
            partitions[partition] = state
            byNode[leader, default: []].append(batch)
        }
        let drained = shared.accumulator.withLock { accumulator in
            accumulator.drain(now: now) { partition in allowance(for: partition, now: now) }
        }
        for batch in drained {
            heldBatchIDs.insert(batch.id)
            guard let built = build(batch) else { continue }
            guard let leader = leader(of: batch.partition) else {
                preconditionFailure("a partition with an allowance has a leader")
            }
            byNode[leader, default: []].append(built)
        }
        return byNode
    }

    private func allowance(for partition: TopicPartition, now: ContinuousClock.Instant) -> Int {
        let state = partitions[partition] ?? PartitionState()
        guard !state.recovering, state.retries.isEmpty, state.backoffUntil.map({ $0 <= now }) ?? true,
              leader(of: partition) != nil else { return 0 }
        return inFlightPerPartitionMax - state.inFlight.count
    }

    private func leader(of partition: TopicPartition) -> NodeID? {
        guard let leader = metadata.leader(of: partition) else {
            metadataStale = true
            return nil
        }
        return leader
    }

    /// Stamps the partition's next sequence and builds the wire batch; a batch that cannot be
    /// built (too large once framed) fails without using a sequence.
    private func build(_ batch: ProducerBatch) -> ProducerBatch? {
        var batch = batch
        var state = partitions[batch.partition] ?? PartitionState()
        if options.isIdempotent {
            batch.builder.producerID = producerID
            batch.builder.producerEpoch = producerEpoch
            batch.builder.baseSequence = ProducerSequence(state.nextSequence)
        }
        do {
            batch.built = try batch.builder.build()
        } catch {
            complete(batch, with: .failure(.recordTooLarge(bytes: batch.builder.uncompressedRecordBytes,
                                                           bytesMax: Limits.batchBytesMax)), sequenced: false)
            return nil
        }
        if options.isIdempotent { state.nextSequence = Self.sequence(state.nextSequence, plus: batch.recordCount) }
        state.inFlight.append(batch)
        partitions[batch.partition] = state
        return batch
    }

    /// Sequences wrap from Int32.max to 0, as Kafka's do.
    static func sequence(_ sequence: Int32, plus count: Int) -> Int32 {
        Int32((Int64(sequence) + Int64(count)) % (Int64(Int32.max) + 1))
    }

    // MARK: sending

    private func dispatch(_ batches: [ProducerBatch], to node: NodeID,
                          in group: inout DiscardingTaskGroup) async {
        let connection: BrokerConnection
        do {
            connection = try await self.connection(to: node)
        } catch {
            for batch in batches { handleFailure(batch, error, from: nil) }
            return
        }
        guard let version = connection.version(for: ProduceRequest.self, max: 8), version >= 3 else {
            let error = SluiceClientError.unsupportedVersion(api: "Produce v3+", address: connection.address.description)
            for batch in batches { handleFailure(batch, error, from: connection) }
            return
        }
        // One batch per partition per request (Kafka's rule for magic 2).
        var rounds: [[ProducerBatch]] = []
        var round: [TopicPartition: Int] = [:]
        for batch in batches {
            let index = round[batch.partition, default: 0]
            round[batch.partition] = index + 1
            if index == rounds.count { rounds.append([]) }
            rounds[index].append(batch)
        }
        for requestBatches in rounds {
            let request = Self.produceRequest(requestBatches, acks: options.acks, timeout: options.ackTimeout)
            let future = connection.start(request, version: version, expectsResponse: options.acks != .none)
            group.addTask {
                let result: Result<ByteBuffer, SluiceClientError>
                do {
                    result = .success(try await future.get())
                } catch {
                    result = .failure(error as? SluiceClientError
                        ?? .connectionClosed(address: connection.address.description, reason: "\(error)"))
                }
                await self.handleAnswer(result, for: requestBatches, version: version, from: connection)
            }
        }
    }

    private func connection(to node: NodeID) async throws(SluiceClientError) -> BrokerConnection {
        if let open = connections[node], open.isActive { return open }
        let connection = try await cluster.connection(to: node)
        connections[node] = connection
        return connection
    }

    static func produceRequest(_ batches: [ProducerBatch], acks: ProducerOptions.Acks, timeout: Duration) -> ProduceRequest {
        var topics: [TopicName: [ProduceRequest.TopicProduceData.PartitionProduceData]] = [:]
        for batch in batches {
            topics[batch.partition.topic, default: []].append(
                .init(index: batch.partition.partition, records: batch.built?.bytes))
        }
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return ProduceRequest(
            transactionalID: nil, acks: acks.rawValue, timeoutMs: timeoutMs,
            topicData: topics.map { .init(name: $0.key.rawValue, partitionData: $0.value) })
    }
}
