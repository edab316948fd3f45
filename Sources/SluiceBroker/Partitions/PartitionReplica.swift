import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import SluiceWire

/// This node's replica of one partition: its log, its view of the partition's metadata
/// (leader, epoch, ISR) and, while leader, the producer de-duplication state.
///
/// Replication (followers fetching, ISR tracking) is the next issue; until it lands a leader
/// whose ISR is itself alone advances the high watermark to its log end on every append.
actor PartitionReplica {
    let partition: TopicPartition
    let nodeID: NodeID
    let log: PartitionLogActor
    private(set) var state: PartitionState
    /// Nil until rebuilt from the log's tail (after opening, or a leader change): the first
    /// append under the lock rebuilds it, so a restart does not forget which batches are in.
    private var producers: ProducerStateTable?
    private let appendLock = AsyncFIFOLock()
    private let signal: AppendSignal

    init(partition: TopicPartition, nodeID: NodeID, log: PartitionLogActor, state: PartitionState, signal: AppendSignal) {
        self.partition = partition
        self.nodeID = nodeID
        self.log = log
        self.state = state
        self.signal = signal
    }

    var isLeader: Bool { state.leader == nodeID }

    func update(_ newState: PartitionState) async {
        // A new leader epoch: batches may have arrived by replication; rebuild from the log.
        if newState.leaderEpoch != state.leaderEpoch { producers = nil }
        state = newState
        await advanceHighWatermarkIfAlone()
    }

    /// With no followers in the ISR the leader's log end is committed as soon as it is written.
    private func advanceHighWatermarkIfAlone() async {
        guard isLeader, state.isr == [nodeID] else { return }
        let end = await log.logEndOffset
        try? await log.updateHighWatermark(end)
        signal.bump()
    }

    struct ProduceOutcome: Sendable {
        var errorCode: KafkaErrorCode
        var baseOffset: Offset = .unknown
        var logStartOffset: Offset = .unknown
        var errorMessage: String? = nil
    }

    /// Appends a Produce request's records for this partition as leader.
    func append(_ records: ByteBuffer, requiredAcks: Int16, minInsyncReplicas: Int, timeout: Duration) async -> ProduceOutcome {
        guard isLeader else { return ProduceOutcome(errorCode: .notLeaderOrFollower) }
        if requiredAcks == -1 && state.isr.count < minInsyncReplicas {
            return ProduceOutcome(errorCode: .notEnoughReplicas,
                                  errorMessage: "ISR has \(state.isr.count) replicas; min.insync.replicas is \(minInsyncReplicas)")
        }
        let result: PartitionLog.AppendResult
        switch await appendLock.withLock({ await appendLocked(records) }) {
        case .answered(let outcome): return outcome
        case .appended(let appended): result = appended
        }
        // acks=all: answer only once the high watermark covers the batch, i.e. every in-sync
        // replica has it. The append lock is already released, so later batches are not held up.
        if requiredAcks == -1, await !waitForHighWatermark(beyond: result.lastOffset, timeout: timeout) {
            return ProduceOutcome(errorCode: .requestTimedOut, baseOffset: result.firstOffset,
                                  errorMessage: "not every in-sync replica had the batch within the request timeout")
        }
        return ProduceOutcome(errorCode: .none, baseOffset: result.firstOffset, logStartOffset: await log.logStartOffset)
    }

    private enum LockedAppend {
        /// Answered without appending: invalid, a duplicate, or a sequence/epoch error.
        case answered(ProduceOutcome)
        case appended(PartitionLog.AppendResult)
    }

    /// Checks idempotence and appends; runs under the append lock, so the producer table and
    /// the log change together.
    private func appendLocked(_ records: ByteBuffer) async -> LockedAppend {
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
                return .answered(ProduceOutcome(errorCode: Self.errorCode(for: error), errorMessage: error.description))
            }
            producers = table
        }
        switch table.check(first) {
        case .duplicate(let offset):
            return .answered(ProduceOutcome(errorCode: .none, baseOffset: offset, logStartOffset: await log.logStartOffset))
        case .invalidEpoch:
            return .answered(ProduceOutcome(errorCode: .invalidProducerEpoch))
        case .outOfOrder(let expected, let got):
            return .answered(ProduceOutcome(errorCode: .outOfOrderSequenceNumber,
                                            errorMessage: "sequence \(got) but \(expected) was expected"))
        case .append:
            break
        }
        do throws(LogError) {
            let result = try await log.appendAsLeader(records, leaderEpoch: state.leaderEpoch)
            producers?.record(first, firstOffset: result.firstOffset)
            await advanceHighWatermarkIfAlone()
            signal.bump()
            return .appended(result)
        } catch {
            return .answered(ProduceOutcome(errorCode: Self.errorCode(for: error), errorMessage: error.description))
        }
    }

    /// Waits until the high watermark is past `offset`; false if `timeout` passes first.
    private func waitForHighWatermark(beyond offset: Offset, timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let seen = signal.generation
            if await log.highWatermark > offset { return true }
            if clock.now >= deadline || Task.isCancelled { return false }
            await signal.wait(after: seen, timeout: deadline - clock.now)
        }
    }

    struct FetchOutcome: Sendable {
        var errorCode: KafkaErrorCode
        var highWatermark: Offset = .unknown
        var logStartOffset: Offset = .unknown
        var records: ByteBuffer? = nil
    }

    /// Committed batches (below the high watermark) from `offset`, for a consumer.
    func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool) async -> FetchOutcome {
        guard isLeader else { return FetchOutcome(errorCode: .notLeaderOrFollower) }
        let hw = await log.highWatermark
        let start = await log.logStartOffset
        do throws(LogError) {
            // A consumer may not read past the high watermark; asking beyond it is out of range.
            guard offset <= hw else { throw .offsetOutOfRange(requested: offset, logStartOffset: start, logEndOffset: hw) }
            let bytes = offset == hw ? nil : try await log.read(from: offset, maxBytes: maxBytes, maxOffset: hw, minOneBatch: minOneBatch)
            return FetchOutcome(errorCode: .none, highWatermark: hw, logStartOffset: start, records: bytes)
        } catch {
            return FetchOutcome(errorCode: Self.errorCode(for: error), highWatermark: hw, logStartOffset: start)
        }
    }

    /// ListOffsets: -1 latest (the high watermark), -2 earliest, else the first offset whose
    /// timestamp is at least `timestamp`.
    func offset(forTimestamp timestamp: Int64) async -> (KafkaErrorCode, Offset, Int64) {
        guard isLeader else { return (.notLeaderOrFollower, .unknown, -1) }
        switch timestamp {
        case -1: return (.none, await log.highWatermark, -1)
        case -2: return (.none, await log.logStartOffset, -1)
        default:
            do throws(LogError) {
                guard let found = try await log.offset(forTimestamp: timestamp) else { return (.none, .unknown, -1) }
                let hw = await log.highWatermark
                return found.offset < hw ? (.none, found.offset, found.timestamp) : (.none, .unknown, -1)
            } catch {
                return (Self.errorCode(for: error), .unknown, -1)
            }
        }
    }

    /// OffsetForLeaderEpoch: where `epoch` ends in this replica's log.
    func endOffset(forEpoch epoch: LeaderEpoch) async -> (KafkaErrorCode, LeaderEpoch, Offset) {
        let cache = await log.epochCache
        let end = await log.logEndOffset
        guard let found = cache.endOffset(for: epoch, logEndOffset: end) else { return (.none, .unknown, .unknown) }
        return (.none, found.epoch, found.endOffset)
    }

    static func errorCode(for error: LogError) -> KafkaErrorCode {
        switch error {
        case .invalidBatch(let e): KafkaErrorCode(rawValue: e.kafkaErrorCode) ?? .corruptMessage
        case .offsetOutOfRange: .offsetOutOfRange
        case .storage, .corruptLog, .closed, .nonContiguousAppend: .kafkaStorageError
        }
    }

}
