import NIOCore
import SluiceCore
import SluiceRecords
import SluiceWire

extension ProducerSender {
    // MARK: answers

    /// Acts on a Produce answer (or the failure to get one) for `batches`.
    func handleAnswer(_ result: Result<ByteBuffer, SluiceClientError>, for batches: [ProducerBatch],
                      version: Int16, from connection: BrokerConnection) {
        defer { shared.wake.signal() }
        let response: ProduceResponse
        switch result {
        case .failure(let error):
            for batch in batches { handleFailure(batch, error, from: connection) }
            return
        case .success(let body):
            if options.acks == .none {
                for batch in batches { acknowledge(batch, baseOffset: .unknown, logAppendTime: -1) }
                return
            }
            do {
                response = try connection.decode(body, as: ProduceResponse.self, version: version)
            } catch {
                for batch in batches { handleFailure(batch, error, from: connection) }
                return
            }
        }
        var answers: [TopicPartition: ProduceResponse.TopicProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            guard let name = TopicName(rawValue: topic.name) else { continue }
            for partition in topic.partitionResponses { answers[TopicPartition(name, partition.index)] = partition }
        }
        for batch in batches {
            guard let answer = answers[batch.partition] else {
                handleFailure(batch, .malformedResponse(api: "Produce", address: connection.address.description,
                                                        detail: "no answer for \(batch.partition)"), from: connection)
                continue
            }
            switch KafkaErrorCode(rawValue: answer.errorCode) {
            case .none?, .duplicateSequenceNumber?:
                // A duplicate is a retry of a batch already written: it is acknowledged.
                acknowledge(batch, baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs)
            default:
                let error = SluiceClientError.server(code: answer.errorCode, api: .produce,
                                                     resource: "\(batch.partition)", message: answer.errorMessage)
                handleFailure(batch, error, from: connection)
            }
        }
    }

    private func acknowledge(_ batch: ProducerBatch, baseOffset: Offset, logAppendTime: Int64) {
        var state = partitions[batch.partition] ?? PartitionState()
        state.inFlight.removeAll { $0.id == batch.id }
        if state.recovering && state.isIdle { state.recovering = false }
        partitions[batch.partition] = state
        batch.succeed(baseOffset: baseOffset, logAppendTime: logAppendTime)
        finish(batch)
    }

    /// A failed attempt: retried in sequence order within the delivery timeout, else failed.
    func handleFailure(_ batch: ProducerBatch, _ error: SluiceClientError, from connection: BrokerConnection?) {
        var batch = batch
        batch.attempts += 1
        batch.lastError = error
        var state = partitions[batch.partition] ?? PartitionState()
        state.inFlight.removeAll { $0.id == batch.id }
        let lowestPending = (state.inFlight.map(\.baseSequence) + state.retries.map(\.baseSequence)).min()
        let isFirst = lowestPending.map { batch.baseSequence <= $0 } ?? true
        var policy = ProducerErrorPolicy.decide(error, isFirstUnacknowledged: isFirst)
        if ContinuousClock.now - batch.createdAt >= options.deliveryTimeout { policy = .fail }
        if case .connectionClosed = error, let connection { dropConnection(connection) }
        if case .requestTimedOut = error, let connection { dropConnection(connection) }
        switch policy {
        case .retry(let refresh):
            if refresh { markMetadataStale() }
            state.retries.append(batch)
            state.retries.sort { $0.baseSequence < $1.baseSequence }
            state.recovering = true
            state.backoffUntil = .now + retryBackoff
            partitions[batch.partition] = state
        case .retryWithNewProducerID:
            state.retries.append(batch)
            state.retries.sort { $0.baseSequence < $1.baseSequence }
            state.recovering = true
            partitions[batch.partition] = state
            producerIDResetPending = true
        case .fail:
            partitions[batch.partition] = state
            let final: SluiceClientError = ContinuousClock.now - batch.createdAt >= options.deliveryTimeout
                ? .deliveryTimedOut(batch.partition, timeout: options.deliveryTimeout, lastError: error.description)
                : error
            complete(batch, with: .failure(final), sequenced: batch.built != nil)
        }
    }

    private func dropConnection(_ connection: BrokerConnection) {
        for (node, open) in connections where open === connection { connections[node] = nil }
        markMetadataStale()
    }

    private func markMetadataStale() {
        metadataStale = true
    }

    /// Reports a final failure (success goes through `acknowledge`).
    func complete(_ batch: ProducerBatch, with result: Result<Void, SluiceClientError>, sequenced: Bool) {
        if case .failure(let error) = result {
            batch.fail(error)
            if batch.hasUnreportedRecords && unreportedError == nil { unreportedError = error }
            // Later batches of the partition carry sequences after this one's: a new producer
            // id restarts the partition's sequences (Kafka bumps the epoch for the same reason).
            if sequenced && options.isIdempotent { producerIDResetPending = true }
        }
        finish(batch)
    }

    private func finish(_ batch: ProducerBatch) {
        shared.release(batch.memoryBytes)
        batchDone(batch.id)
    }

    func batchDone(_ id: UInt64) {
        heldBatchIDs.remove(id)
        guard !flushWaiters.isEmpty else { return }
        var remaining: [(ids: Set<UInt64>, continuation: CheckedContinuation<Void, Never>)] = []
        for var waiter in flushWaiters {
            waiter.ids.remove(id)
            if waiter.ids.isEmpty { waiter.continuation.resume() } else { remaining.append(waiter) }
        }
        flushWaiters = remaining
    }

    // MARK: flush

    /// Seals every open batch and waits until every batch existing now is completed.
    /// Returns the first failure of a record sent without its own report since the last flush.
    func flush() async -> SluiceClientError? {
        let buffered = shared.accumulator.withLock { accumulator in
            accumulator.sealEverything = true
            return accumulator.batchIDs
        }
        let ids = heldBatchIDs.union(buffered)
        shared.wake.signal()
        if !ids.isEmpty {
            await withCheckedContinuation { flushWaiters.append((ids, $0)) }
        }
        defer { unreportedError = nil }
        return unreportedError
    }

    // MARK: metadata, producer id, expiry

    func refreshMetadataIfNeeded(now: ContinuousClock.Instant) async {
        let age = lastMetadataRefresh.map { now - $0 }
        guard metadataStale ? (age.map { $0 >= retryBackoff } ?? true) : (age.map { $0 >= .seconds(1) } ?? true) else {
            return
        }
        lastMetadataRefresh = now
        let topics = shared.accumulator.withLock { $0.topicNames }
        do {
            metadata = try await cluster.metadata(topics: topics, refresh: metadataStale)
            metadataStale = false
            let counts = metadata.topics.mapValues(\.partitions.count)
            shared.accumulator.withLock { accumulator in
                for (topic, count) in counts { accumulator.setPartitionCount(count, of: topic) }
            }
        } catch {
            metadataStale = true
        }
    }

    /// Takes a producer id when idempotent and none is held, or after a failure that left a
    /// sequence gap once nothing is in flight; then re-sequences every batch awaiting a retry.
    func renewProducerIDIfNeeded(now: ContinuousClock.Instant) async {
        guard options.isIdempotent, producerID == .none || producerIDResetPending else { return }
        guard partitions.values.allSatisfy(\.inFlight.isEmpty) else { return }
        if let last = lastProducerIDAttempt, now - last < retryBackoff { return }
        lastProducerIDAttempt = now
        let response: InitProducerIdResponse
        do {
            response = try await cluster.sendToAny(InitProducerIdRequest(transactionalID: nil, transactionTimeoutMs: 60_000),
                                                   maxVersion: 1)
        } catch {
            return
        }
        guard response.errorCode == 0, partitions.values.allSatisfy(\.inFlight.isEmpty) else { return }
        producerID = response.producerID
        producerEpoch = response.producerEpoch
        producerIDResetPending = false
        for (partition, var state) in partitions {
            var sequence: Int32 = 0
            state.retries = state.retries.map { batch in
                var batch = batch
                batch.built = batch.built?.restamped(producerID: producerID, epoch: producerEpoch, baseSequence: sequence)
                sequence = Self.sequence(sequence, plus: batch.recordCount)
                return batch
            }
            state.nextSequence = sequence
            partitions[partition] = state
        }
    }

    /// Fails buffered batches (never sent) and retries whose delivery timeout passed.
    func expireBuffered(now: ContinuousClock.Instant) {
        let expired = shared.accumulator.withLock { $0.expire(createdBefore: now - options.deliveryTimeout) }
        for batch in expired {
            let reason = metadataStale ? "no leader was known for it" : "it could not be sent"
            complete(batch, with: .failure(.deliveryTimedOut(batch.partition, timeout: options.deliveryTimeout,
                                                             lastError: reason)), sequenced: false)
        }
        for (partition, var state) in partitions where state.inFlight.isEmpty {
            let (late, kept) = (state.retries.filter { now - $0.createdAt >= options.deliveryTimeout },
                                state.retries.filter { now - $0.createdAt < options.deliveryTimeout })
            guard !late.isEmpty else { continue }
            state.retries = kept
            if state.isIdle { state.recovering = false }
            partitions[partition] = state
            for batch in late {
                complete(batch, with: .failure(.deliveryTimedOut(
                    partition, timeout: options.deliveryTimeout, lastError: batch.lastError?.description ?? "unknown")),
                    sequenced: true)
            }
        }
    }

    /// After the loop: whatever is left (only on close with batches that could not complete).
    func failEverythingLeft() {
        for (_, state) in partitions {
            for batch in state.inFlight + state.retries { complete(batch, with: .failure(.closed), sequenced: false) }
        }
        partitions = [:]
        for waiter in flushWaiters { waiter.continuation.resume() }
        flushWaiters = []
    }
}
