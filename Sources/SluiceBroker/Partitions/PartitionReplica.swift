import Logging
import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import SluiceWire

/// What every replica of a node shares: who we are, the clock, the ISR-change path to the
/// controller, the node-wide append signal and the replication settings.
struct ReplicaContext: Sendable {
    var nodeID: NodeID
    var options: ReplicationOptions
    var signal: AppendSignal
    var isrChanges: any ISRChangeSubmitting
    /// Monotonic milliseconds (lag times, produce deadlines).
    var nowMs: @Sendable () -> Int64
    var logger: Logger
    /// A deliberately broken broker for the fault harness to catch (debug builds only, see
    /// `SluiceNode.testOnlyBreakage`): `acks=all` is answered as soon as the leader appended,
    /// before any follower has the batch, so a leader crash loses acknowledged records.
    var testOnlyAcksAllAtAppend = false
    /// The node's hot-path metrics (ISR shrinks and expands); nil counts nothing.
    var metrics: NodeMetrics? = nil
}

/// This node's replica of one partition: the thin actor that performs what the pure
/// replication core (`SluiceReplication`) decides. As leader it drives a `LeaderState`
/// (appends, follower fetches, ticks, ISR changes, `acks=all` waiters); as follower a
/// `FollowerState` (the epoch handshake, truncation, appends of fetched batches) whose next
/// request the leader's `ReplicaFetcher` sends. The log and the producer de-duplication
/// state live here too.
///
/// Every answer that can come back late (a fetch response, the controller's ISR answer, an
/// append that waited for the lock) is checked against the leader epoch it was made for: a
/// replica whose epoch moved on never acts on it.
actor PartitionReplica {
    let partition: TopicPartition
    let log: PartitionLogActor
    let context: ReplicaContext
    var nodeID: NodeID { context.nodeID }
    /// The partition's state in the newest metadata image this replica was given.
    private(set) var state: PartitionState
    /// Set while this replica leads `state.leaderEpoch`.
    var leader: LeaderState?
    /// Set while this replica follows `state.leader` at `state.leaderEpoch`.
    var follower: FollowerState?
    /// `acks=all` produces parked until the HW passes their batch, by token.
    var waiters: [UInt64: CheckedContinuation<ProduceWaitOutcome, Never>] = [:]
    var nextToken: UInt64 = 0
    /// Nil until rebuilt from the log's tail (after opening, or a leader change): the first
    /// append under the lock rebuilds it, so a restart does not forget which batches are in.
    var producers: ProducerStateTable?
    /// The last retriable refusal of each idempotent producer's batch here, so that the
    /// batches it had in flight behind the refused one get the same retriable error instead of
    /// OUT_OF_ORDER_SEQUENCE_NUMBER (`retriableRefusal(for:)`). Cleared when the producer's
    /// next batch is appended; leader-only, like `producers`.
    var refusals: [ProducerID: RetriableRefusal] = [:]
    let appendLock = AsyncFIFOLock()
    /// The lowest damaged batch a read of this log found (bit rot: it failed its CRC or offset
    /// checks), until this replica, as a follower, cuts its log back to it and fetches it
    /// again. The log never serves it; while in the ISR, the replica asks to be taken out.
    var damage: LogCorruption?
    /// The last report of the damage to the controller: the partition epoch it was based on,
    /// when it was sent or answered, and whether it is still in flight.
    var damageReport: (partitionEpoch: PartitionEpoch, atMs: Int64, inFlight: Bool)?
    /// Whether the operator was told that no other replica can replace the damaged batch.
    var reportedSoleCopy = false
    /// Where the next scrub pass reads on (`scrub(bytesMax:)`).
    var scrubCursor = Offset.zero
    /// The last append failure logged (a full disk), until an append succeeds again.
    var appendFailure: String?
    /// Appended as leader since this replica opened (`/metrics`).
    var appended = AppendTotals()
    var signal: AppendSignal { context.signal }
    var logger: Logger { context.logger }

    /// A batch refused with a retriable error before it was appended (it is not in the log).
    struct RetriableRefusal {
        var epoch: ProducerEpoch
        var firstSequence: Int32
        var errorCode: KafkaErrorCode
        var errorMessage: String?
        var atMs: Int64
    }

    init(partition: TopicPartition, log: PartitionLogActor, state: PartitionState, context: ReplicaContext) {
        self.partition = partition
        self.log = log
        self.state = state
        self.context = context
    }

    var isLeader: Bool { leader != nil }

    /// What the node's fetchers must do for this replica after a metadata change.
    enum Transition: Sendable, Equatable {
        /// Nothing changes for the fetchers.
        case unchanged
        /// Follow `leader` at `leaderEpoch`: (re)place the partition in that leader's fetcher.
        case follow(leader: NodeID, leaderEpoch: LeaderEpoch, FetchDirective)
        /// Not a follower (leader, or no leader): take it out of every fetcher.
        case stopFollowing
    }

    /// Brings the replica in line with the partition's state in a new metadata image.
    func update(_ newState: PartitionState) async -> Transition {
        let old = state
        state = newState
        let now = context.nowMs()
        if newState.leader == nodeID {
            if var current = leader, current.leaderEpoch == newState.leaderEpoch {
                guard newState.isr.contains(nodeID) else {
                    // The controller never drops a leader from its ISR; if it did, stop leading.
                    await resignLeadership(reason: "the ISR \(newState.isr) no longer holds this leader")
                    return .stopFollowing
                }
                // This leader's own changes are logged once, with their reason, by the sender
                // that had them accepted; the rest are the controller's.
                if newState.isr != current.isr && newState.isr != current.pendingISR {
                    logger.info("\(partition) ISR \(current.isr) -> \(newState.isr) (partition epoch \(newState.partitionEpoch)): changed by the controller (a replica was fenced or restarted)")
                }
                let before = current.isr
                let actions = current.metadataChanged(replicas: newState.replicas, isr: newState.isr,
                                                      partitionEpoch: newState.partitionEpoch, nowMs: now)
                countISRChange(from: before, to: current.isr)
                leader = current
                await perform(actions, epoch: current.leaderEpoch)
                return .unchanged
            }
            await becomeLeader(previous: old)
            return .stopFollowing
        }
        if leader != nil { await resignLeadership(reason: "leader is now \(newState.leader) at epoch \(newState.leaderEpoch)") }
        guard newState.leader != .none, newState.replicas.contains(nodeID) else {
            if follower != nil { logger.info("\(partition) has no leader (epoch \(newState.leaderEpoch)): stopped following") }
            follower = nil
            return .stopFollowing
        }
        if let current = follower, current.leader == newState.leader, current.leaderEpoch == newState.leaderEpoch {
            return .unchanged
        }
        return .follow(leader: newState.leader, leaderEpoch: newState.leaderEpoch, await becomeFollower())
    }

    /// The replica is closing (moved away, topic deleted, shutdown): waiting produces fail.
    func close() async {
        if leader != nil { await resignLeadership(reason: "the replica is closing") }
        follower = nil
    }

    struct ProduceOutcome: Sendable {
        var errorCode: KafkaErrorCode
        var baseOffset: Offset = .unknown
        var logStartOffset: Offset = .unknown
        var errorMessage: String? = nil
    }

    struct FetchOutcome: Sendable {
        var errorCode: KafkaErrorCode
        var highWatermark: Offset = .unknown
        var logStartOffset: Offset = .unknown
        var records: ByteBuffer? = nil
    }

    /// FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a request that names a leader epoch
    /// (KIP-320); `.unknown` (-1, old clients) skips the check.
    func epochCheck(_ currentLeaderEpoch: LeaderEpoch) -> KafkaErrorCode? {
        guard currentLeaderEpoch != .unknown else { return nil }
        if currentLeaderEpoch < state.leaderEpoch { return .fencedLeaderEpoch }
        if currentLeaderEpoch > state.leaderEpoch { return .unknownLeaderEpoch }
        return nil
    }

    /// Committed batches (below the high watermark) from `offset`, for a consumer. A new leader
    /// whose HW still trails its log end answers an offset between the two with no records
    /// rather than OFFSET_OUT_OF_RANGE: the consumer was served them by the old leader.
    func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool, currentLeaderEpoch: LeaderEpoch = .unknown) async -> FetchOutcome {
        if let refused = epochCheck(currentLeaderEpoch) { return FetchOutcome(errorCode: refused) }
        guard isLeader else { return FetchOutcome(errorCode: .notLeaderOrFollower) }
        let hw = await log.highWatermark
        let start = await log.logStartOffset
        let end = await log.logEndOffset
        do throws(LogError) {
            guard offset <= end else { throw .offsetOutOfRange(requested: offset, logStartOffset: start, logEndOffset: hw) }
            let bytes = offset >= hw ? nil : try await log.read(from: offset, maxBytes: maxBytes, maxOffset: hw, minOneBatch: minOneBatch)
            return FetchOutcome(errorCode: .none, highWatermark: hw, logStartOffset: start, records: bytes)
        } catch {
            noteReadFailure(error)
            return FetchOutcome(errorCode: Self.errorCode(for: error), highWatermark: hw, logStartOffset: start)
        }
    }

    /// ListOffsets: -1 latest (the high watermark), -2 earliest, else the first offset whose
    /// timestamp is at least `timestamp`.
    func offset(forTimestamp timestamp: Int64, currentLeaderEpoch: LeaderEpoch = .unknown) async -> (KafkaErrorCode, Offset, Int64) {
        if let refused = epochCheck(currentLeaderEpoch) { return (refused, .unknown, -1) }
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
                noteReadFailure(error)
                return (Self.errorCode(for: error), .unknown, -1)
            }
        }
    }

    /// OffsetForLeaderEpoch as leader: where `epoch` ends in this log (the leader's LEO for its
    /// own current epoch).
    func endOffset(forEpoch epoch: LeaderEpoch, currentLeaderEpoch: LeaderEpoch = .unknown) async -> (KafkaErrorCode, LeaderEpoch, Offset) {
        if let refused = epochCheck(currentLeaderEpoch) { return (refused, .unknown, .unknown) }
        guard isLeader else { return (.notLeaderOrFollower, .unknown, .unknown) }
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

extension PartitionReplica {
    /// DeleteRecords as leader: moves the log start to `offset` (`-1`: the high watermark),
    /// then waits (until `deadline`) until every in-sync follower reports a log start at least
    /// that far, and answers the low watermark: the lowest log start of the leader and its ISR,
    /// as Kafka's DelayedDeleteRecords does. Followers move theirs when a fetch brings the
    /// leader's (`FollowerAction.advanceLogStart`) and report it in their next fetch. Offsets
    /// past the HW are OFFSET_OUT_OF_RANGE; one below the log start changes nothing.
    func deleteRecords(before offset: Offset, deadline: ContinuousClock.Instant) async -> (KafkaErrorCode, lowWatermark: Offset) {
        guard let epoch = leader?.leaderEpoch else { return (.notLeaderOrFollower, .unknown) }
        let hw = await log.highWatermark
        let target = offset == Self.deleteToHighWatermark ? hw : offset
        guard target >= 0, target <= hw else { return (.offsetOutOfRange, .unknown) }
        do throws(LogError) {
            let before = await log.logStartOffset
            try await log.advanceLogStart(to: target)
            let after = await log.logStartOffset
            if after != before { logger.info("\(partition) log start moved from \(before) to \(after) (DeleteRecords)") }
        } catch {
            return (Self.errorCode(for: error), .unknown)
        }
        return await awaitLowWatermark(target, epoch: epoch, deadline: deadline)
    }

    /// Polls the leader state until the ISR's low watermark reaches `target`: the followers'
    /// reports arrive with their fetches, within a fetch wait or two.
    private func awaitLowWatermark(_ target: Offset, epoch: LeaderEpoch, deadline: ContinuousClock.Instant) async
        -> (KafkaErrorCode, lowWatermark: Offset)
    {
        while true {
            let local = await log.logStartOffset
            guard let current = leader, current.leaderEpoch == epoch else { return (.notLeaderOrFollower, .unknown) }
            if let low = current.lowWatermark(localLogStartOffset: local), low >= target { return (.none, low) }
            guard ContinuousClock.now < deadline else { return (.requestTimedOut, .unknown) }
            try? await Task.sleep(for: Self.lowWatermarkPollInterval)
        }
    }

    /// DeleteRecords' offset meaning "up to the high watermark".
    static let deleteToHighWatermark = Offset(-1)
    static let lowWatermarkPollInterval: Duration = .milliseconds(20)
}
