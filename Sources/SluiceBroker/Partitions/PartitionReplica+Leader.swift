import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import SluiceWire

/// The leader side: appends, `acks=all`, follower fetches, ticks and ISR changes.
extension PartitionReplica {
    func becomeLeader(previous: PartitionState) async {
        follower = nil
        producers = nil // batches may have arrived by replication; rebuild from the log
        refusals = [:]
        let epoch = state.leaderEpoch
        do throws(LogError) {
            // KIP-101: the epoch starts at our log end now, before any record of it is written.
            try await log.beginLeaderEpoch(epoch)
        } catch {
            logger.error("\(partition): recording leader epoch \(epoch) failed: \(error); not leading")
            return
        }
        let end = await log.logEndOffset
        let hw = min(await log.highWatermark, end)
        leader = LeaderState(localID: nodeID, leaderEpoch: epoch, partitionEpoch: state.partitionEpoch, replicas: state.replicas,
                             isr: state.isr, logEndOffset: end, highWatermark: hw, options: context.options, nowMs: context.nowMs())
        let why = previous.leader == .none ? "the controller elected it" : "the controller moved leadership from \(previous.leader)"
        logger.info("\(partition) leader \(previous.leader) -> \(nodeID) (epoch \(previous.leaderEpoch) -> \(epoch)): \(why); ISR \(state.isr), log end \(end), HW \(hw)")
        // A sole in-sync replica commits what it has at once.
        if var current = leader {
            let actions = current.appended(newLogEndOffset: end)
            leader = current
            await perform(actions, epoch: epoch)
        }
        signal.bump()
    }

    func resignLeadership(reason: String) async {
        guard var current = leader else { return }
        let actions = current.resign()
        leader = nil
        logger.info("\(partition) stops leading epoch \(current.leaderEpoch): \(reason)")
        await perform(actions, epoch: current.leaderEpoch)
    }

    /// Performs the leader core's actions, if `epoch` is still the one led.
    func perform(_ actions: [LeaderAction], epoch: LeaderEpoch) async {
        for action in actions {
            switch action {
            case .highWatermarkAdvanced(let hw):
                do throws(LogError) {
                    try await log.updateHighWatermark(hw)
                } catch {
                    logger.error("\(partition): recording HW \(hw) failed: \(error)")
                }
                signal.bump()
            case .answerProduce(let token, let outcome):
                waiters.removeValue(forKey: token)?.resume(returning: outcome)
            case .proposeISR(let proposal):
                logger.debug("\(partition) proposes ISR \(proposal.oldISR) -> \(proposal.newISR): \(proposal.reason)")
                let submitter = context.isrChanges
                let partition = partition
                Task {
                    let answer = await submitter.submit(proposal, for: partition)
                    await self.isrChangeAnswered(answer, epoch: proposal.leaderEpoch)
                }
            }
        }
    }

    func isrChangeAnswered(_ answer: LeaderState.ISRChangeAnswer, epoch: LeaderEpoch) async {
        guard var current = leader, current.leaderEpoch == epoch else { return }
        let before = current.isr
        let actions = current.isrChangeAnswered(answer, nowMs: context.nowMs())
        countISRChange(from: before, to: current.isr)
        leader = current
        await perform(actions, epoch: epoch)
    }

    /// Time passes: lagging followers are proposed out of the ISR; expired produces time out;
    /// a damage report that was lost or refused is sent again (found by the simulator: a
    /// leader whose one report was lost stayed in the ISR with a damaged log, since no read
    /// met the damage again).
    func tick() async {
        if damage != nil { reportDamageWhileInISR() }
        guard var current = leader else { return }
        let actions = current.tick(nowMs: context.nowMs())
        leader = current
        await perform(actions, epoch: current.leaderEpoch)
    }

    // MARK: produce

    /// Appends a Produce request's records for this partition as leader. With `acks=all` the
    /// answer waits until the HW passes the batch, i.e. every in-sync replica has it.
    func append(_ records: ByteBuffer, requiredAcks: Int16, minInsyncReplicas: Int, timeout: Duration) async -> ProduceOutcome {
        guard let current = leader else { return ProduceOutcome(errorCode: .notLeaderOrFollower) }
        let epoch = current.leaderEpoch
        let result: PartitionLog.AppendResult
        let minISR = requiredAcks == -1 ? minInsyncReplicas : 0
        switch await appendLock.withLock({ await appendLocked(records, epoch: epoch, minInsyncReplicas: minISR) }) {
        case .answered(let outcome): return outcome
        case .appended(let appended): result = appended
        }
        let logStart = await log.logStartOffset
        guard requiredAcks == -1, !context.testOnlyAcksAllAtAppend else {
            return ProduceOutcome(errorCode: .none, baseOffset: result.firstOffset, logStartOffset: logStart)
        }
        // The append lock is released: later batches are not held up while this one waits.
        guard var waiting = leader, waiting.leaderEpoch == epoch else {
            return ProduceOutcome(errorCode: .notLeaderOrFollower, baseOffset: result.firstOffset,
                                  errorMessage: "leadership moved before the batch was replicated")
        }
        nextToken &+= 1
        let token = nextToken
        let immediate = waiting.awaitHighWatermark(token: token, lastOffset: result.lastOffset, minInsyncReplicas: minInsyncReplicas,
                                                   deadlineMs: context.nowMs() + timeout.wholeMilliseconds)
        leader = waiting
        let outcome: ProduceWaitOutcome
        if case .answerProduce(_, let answered)? = immediate.first(where: { if case .answerProduce(token, _) = $0 { true } else { false } }) {
            outcome = answered
        } else {
            outcome = await withCheckedContinuation { waiters[token] = $0 }
        }
        switch outcome {
        case .committed:
            return ProduceOutcome(errorCode: .none, baseOffset: result.firstOffset, logStartOffset: logStart)
        case .notEnoughReplicasAfterAppend:
            return ProduceOutcome(errorCode: .notEnoughReplicasAfterAppend, baseOffset: result.firstOffset,
                                  errorMessage: "the ISR shrank below min.insync.replicas \(minInsyncReplicas) before the batch was replicated")
        case .notLeader:
            return ProduceOutcome(errorCode: .notLeaderOrFollower, baseOffset: result.firstOffset,
                                  errorMessage: "leader epoch \(epoch) ended before every in-sync replica had the batch")
        case .timedOut:
            return ProduceOutcome(errorCode: .requestTimedOut, baseOffset: result.firstOffset,
                                  errorMessage: "not every in-sync replica had the batch within the request timeout")
        }
    }

    enum LockedAppend {
        /// Answered without appending: invalid, or a sequence/epoch error.
        case answered(ProduceOutcome)
        /// Appended now, or a duplicate of a batch appended before (then where it is).
        case appended(PartitionLog.AppendResult)
    }

    /// Checks idempotence and appends; runs under the append lock, so the producer table and
    /// the log change together. A replica demoted while the append waited for the lock does not
    /// append under the old epoch. `minInsyncReplicas` (0 unless `acks=all`) is checked after
    /// the duplicate check: a retry of a batch already here is never told it was not written
    /// (NOT_ENOUGH_REPLICAS says so); it waits for the HW like the original.
    func appendLocked(_ records: ByteBuffer, epoch: LeaderEpoch, minInsyncReplicas: Int = 0) async -> LockedAppend {
        guard leader?.leaderEpoch == epoch else { return .answered(ProduceOutcome(errorCode: .notLeaderOrFollower)) }
        // Idempotence checks the first batch: producers send one batch per partition per
        // request (Kafka rejects more for magic 2, and so does validation below).
        var splitter = RecordBatchSplitter(records, trailingBytes: .rejectPartialTrailingBatch)
        let first: RecordBatch
        do throws(RecordBatchError) {
            guard let batch = try splitter.next() else {
                return .answered(ProduceOutcome(errorCode: .corruptMessage, errorMessage: "no record batch"))
            }
            first = batch
            if try splitter.next() != nil {
                return .answered(ProduceOutcome(errorCode: .invalidRecord, errorMessage: "more than one batch for one partition"))
            }
        } catch {
            return .answered(ProduceOutcome(errorCode: KafkaErrorCode(rawValue: error.kafkaErrorCode) ?? .corruptMessage,
                                            errorMessage: "\(error)"))
        }
        let table: ProducerStateTable
        if let producers {
            table = producers
        } else {
            do throws(LogError) {
                table = try await log.foldTailBatchHeaders(into: ProducerStateTable()) { table, h in
                    table.recordStored(id: h.producerID, epoch: h.producerEpoch, firstSequence: h.baseSequence,
                                       lastSequence: h.lastSequence, firstOffset: h.baseOffset, isControl: h.attributes.isControl)
                }
            } catch {
                noteReadFailure(error)
                return .answered(ProduceOutcome(errorCode: Self.errorCode(for: error), errorMessage: error.description))
            }
            guard leader?.leaderEpoch == epoch else { return .answered(ProduceOutcome(errorCode: .notLeaderOrFollower)) }
            producers = table
        }
        let check = table.check(first)
        // A producer this replica has no batch of yet starts wherever it likes; but not past
        // the batch it was just refused (R1 refused, R2 behind it would skip R1's records).
        if case .append = check, !table.knows(first.producerID), let refusal = refusals[first.producerID],
           refusal.epoch == first.producerEpoch, first.baseSequence.rawValue != refusal.firstSequence,
           let pending = retriableRefusal(for: first, expected: refusal.firstSequence) {
            return .answered(ProduceOutcome(errorCode: pending.errorCode, errorMessage: pending.errorMessage))
        }
        if case .append = check, let current = leader, current.isr.count < minInsyncReplicas {
            return .answered(refuse(first, ProduceOutcome(
                errorCode: .notEnoughReplicas,
                errorMessage: "ISR \(current.isr) has \(current.isr.count) replicas; min.insync.replicas is \(minInsyncReplicas)")))
        }
        switch check {
        case .duplicate(let offset):
            // A retry of a batch already in the log: answered with its offset, but only once
            // it is committed like any other, so an `acks=all` retry waits for the HW too (the
            // first attempt may still be waiting for the followers).
            return .appended(PartitionLog.AppendResult(firstOffset: offset, lastOffset: offset.advanced(by: Int64(first.lastOffsetDelta)),
                                                       batchCount: 1, recordCount: Int(first.recordsCount), bytes: 0))
        case .invalidEpoch:
            return .answered(ProduceOutcome(errorCode: .invalidProducerEpoch))
        case .outOfOrder(let expected, let got):
            if let refusal = retriableRefusal(for: first, expected: expected) {
                return .answered(ProduceOutcome(errorCode: refusal.errorCode, errorMessage: refusal.errorMessage))
            }
            return .answered(ProduceOutcome(errorCode: .outOfOrderSequenceNumber,
                                            errorMessage: "sequence \(got) but \(expected) was expected"))
        case .append:
            break
        }
        do throws(LogError) {
            let result = try await log.appendAsLeader(records, leaderEpoch: epoch)
            producers?.record(first, firstOffset: result.firstOffset)
            refusals[first.producerID] = nil
            countAppend(records: result.recordCount, bytes: result.bytes)
            if var current = leader, current.leaderEpoch == epoch {
                let actions = current.appended(newLogEndOffset: result.lastOffset.advanced(by: 1))
                leader = current
                await perform(actions, epoch: epoch)
            }
            signal.bump()
            if appendFailure != nil {
                appendFailure = nil
                logger.notice("\(partition): appends succeed again")
            }
            return .appended(result)
        } catch {
            noteAppendFailure(error)
            return .answered(refuse(first, ProduceOutcome(errorCode: Self.errorCode(for: error), errorMessage: error.description)))
        }
    }

    /// How long a retriable refusal explains a producer's sequence gap: longer than a client's
    /// retry of the refused batch takes, short enough that a real gap is reported.
    static let refusalMemoryMs: Int64 = 10_000
    /// Refusals a producer retries (the batch was not written): too few in-sync replicas, a
    /// failed write (a full disk).
    static let retriableRefusals: Set<KafkaErrorCode> = [.notEnoughReplicas, .kafkaStorageError]

    /// Remembers that `batch` was refused with `outcome` (not appended) and returns `outcome`.
    private func refuse(_ batch: RecordBatch, _ outcome: ProduceOutcome) -> ProduceOutcome {
        guard batch.producerID != .none, batch.baseSequence != .none, Self.retriableRefusals.contains(outcome.errorCode) else {
            return outcome
        }
        refusals[batch.producerID] = RetriableRefusal(
            epoch: batch.producerEpoch, firstSequence: batch.baseSequence.rawValue, errorCode: outcome.errorCode,
            errorMessage: outcome.errorMessage, atMs: context.nowMs())
        return outcome
    }

    /// A batch behind a refused one: a producer with several requests in flight sends its
    /// next batches before it hears that an earlier one was refused, and those arrive with a
    /// sequence past the one this replica expects. Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER,
    /// and librdkafka answers that by bumping its producer epoch and renumbering every
    /// unacknowledged record, on every partition, including records another partition has
    /// written but not yet acknowledged (a leader that died mid-request): those are written
    /// twice (librdkafka issue 4953; the fault harness found it). The refused batch's own
    /// retriable error says the same thing without that cost: retry, in order.
    private func retriableRefusal(for batch: RecordBatch, expected: Int32) -> RetriableRefusal? {
        guard let refusal = refusals[batch.producerID], refusal.epoch == batch.producerEpoch,
              refusal.firstSequence == expected, context.nowMs() - refusal.atMs <= Self.refusalMemoryMs
        else { return nil }
        return refusal
    }

    /// A failed write (a full disk: the log undid it, nothing was stored) is logged when it
    /// first happens or changes, not for every produce that meets the same full disk.
    private func noteAppendFailure(_ error: LogError) {
        guard case .storage = error, appendFailure != error.description else { return }
        appendFailure = error.description
        logger.error("\(partition): appending failed, producers get KAFKA_STORAGE_ERROR until it succeeds again: \(error)")
    }

    // MARK: follower fetches

    /// A follower's fetch: records its position (which may move the HW and the ISR), then
    /// serves batches from `offset` up to the log end, with the HW after this fetch.
    func serveReplicaFetch(from follower: NodeID, offset: Offset, currentLeaderEpoch: LeaderEpoch, maxBytes: Int,
                           followerLogStart: Offset = .unknown) async -> FetchOutcome {
        if let refused = epochCheck(currentLeaderEpoch) { return FetchOutcome(errorCode: refused) }
        guard leader != nil else { return FetchOutcome(errorCode: .notLeaderOrFollower) }
        let start = await log.logStartOffset
        // Read the leader state only after the last suspension: appends and other fetches run
        // in between, and a copy taken before it would overwrite what they changed.
        guard var current = leader else { return FetchOutcome(errorCode: .notLeaderOrFollower) }
        if offset < start {
            return FetchOutcome(errorCode: .offsetOutOfRange, highWatermark: current.highWatermark, logStartOffset: start)
        }
        switch current.followerFetched(follower, fetchOffset: offset, currentLeaderEpoch: current.leaderEpoch, nowMs: context.nowMs(),
                                       logStartOffset: followerLogStart) {
        case .failure(let refusal):
            let code: KafkaErrorCode = switch refusal {
            case .notAReplica: .notLeaderOrFollower
            case .fencedLeaderEpoch: .fencedLeaderEpoch
            case .unknownLeaderEpoch: .unknownLeaderEpoch
            case .offsetPastLogEnd: .offsetOutOfRange
            }
            return FetchOutcome(errorCode: code, highWatermark: current.highWatermark, logStartOffset: start)
        case .success(let actions):
            leader = current
            await perform(actions, epoch: current.leaderEpoch)
        }
        let end = await log.logEndOffset
        let hw = leader?.highWatermark ?? current.highWatermark
        guard offset < end else {
            return FetchOutcome(errorCode: .none, highWatermark: hw, logStartOffset: start, records: ByteBuffer())
        }
        do throws(LogError) {
            let bytes = try await log.read(from: offset, maxBytes: maxBytes, maxOffset: end, minOneBatch: true)
            return FetchOutcome(errorCode: .none, highWatermark: hw, logStartOffset: start, records: bytes)
        } catch {
            noteReadFailure(error)
            return FetchOutcome(errorCode: Self.errorCode(for: error), highWatermark: hw, logStartOffset: start)
        }
    }
}
