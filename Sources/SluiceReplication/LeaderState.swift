import SluiceCore

/// The leader side of one partition's replication (DESIGN §2.2), as a pure state machine: it
/// takes events (a local append, a follower's fetch, a tick with the time, a metadata change,
/// the controller's answer to an ISR change, an `acks=all` produce waiting for its batch) and
/// returns `LeaderAction`s for the shell (`PartitionReplica`) to perform. No clock, no I/O.
///
/// One value lives for one leader epoch: a new epoch (or losing leadership) ends it with
/// `resign()`, which fails every waiting produce, and the shell builds a new one.
///
/// Rules, after Kafka's `Partition`:
/// - **HW** = min log end offset over the *maximal* ISR: the committed ISR plus any member an
///   in-flight ISR change adds (while a shrink is in flight the committed, larger set counts).
///   It never moves back. A follower whose position this leader has not heard yet (it has not
///   fetched in this epoch) holds the HW where it is.
/// - **Caught up**: a follower is caught up at a fetch for an offset at or past the leader's
///   log end then; a fetch at or past the log end of its previous fetch keeps its "last caught
///   up" time at that previous fetch (Kafka's `lastCaughtUpTimeMs`).
/// - **Shrink**: an ISR member not caught up for `replicaLagTimeMaxMs` is proposed out.
/// - **Expand**: a replica outside the ISR whose log end reached the HW and the start of this
///   leader's epoch is proposed in.
/// - One ISR change is in flight at a time; the next waits for the controller's answer or the
///   metadata that carries it.
/// - **acks=all** completes when the HW passes the batch's last offset: success if the
///   committed ISR then has at least `min.insync.replicas` members, else
///   NOT_ENOUGH_REPLICAS_AFTER_APPEND; the leader epoch ending first is NOT_LEADER_OR_FOLLOWER.
public struct LeaderState: Sendable {
    /// What the leader knows of one follower.
    public struct FollowerProgress: Hashable, Sendable {
        /// The follower's log end offset: the offset of its last fetch in this epoch; `.unknown`
        /// until it fetches.
        public var logEndOffset: Offset = .unknown
        /// When the follower was last caught up to the leader's log end (ms, the shell's clock).
        public var lastCaughtUpMs: Int64
        /// The follower's log start as its last fetch reported it (Fetch v5+); `.unknown` until
        /// one does. DeleteRecords waits for the ISR's (`lowWatermark`).
        public var logStartOffset: Offset = .unknown
        /// The incarnation that sent the last fetch, when the shell names it: an expansion
        /// carries it, so the controller can refuse one a restart has made stale (KIP-903).
        public var incarnation: BrokerIncarnation?
        /// The leader's log end offset and time at the follower's previous fetch.
        var previousFetchLeaderEnd: Offset = .unknown
        var previousFetchMs: Int64 = 0
    }

    /// An `acks=all` produce waiting for the HW.
    struct Waiter: Sendable {
        var token: UInt64
        var lastOffset: Offset
        var minInsyncReplicas: Int
        var deadlineMs: Int64
    }

    public let localID: NodeID
    public let leaderEpoch: LeaderEpoch
    /// The log end offset where this epoch began: an expansion needs the follower past it.
    public let epochStartOffset: Offset
    public let options: ReplicationOptions
    public private(set) var replicas: [NodeID]
    /// The ISR as committed in the metadata log. Invariant: contains `localID`.
    public private(set) var isr: [NodeID]
    public private(set) var partitionEpoch: PartitionEpoch
    /// The ISR this leader asked the controller for, until it is answered or superseded.
    public private(set) var pendingISR: [NodeID]?
    /// The proposal behind `pendingISR`, sent again when its outcome is unknown.
    private var pendingProposal: ISRProposal?
    public private(set) var followers: [NodeID: FollowerProgress]
    public private(set) var logEndOffset: Offset
    /// Invariant: never decreases; ≤ `logEndOffset`.
    public private(set) var highWatermark: Offset
    private var waiters: [Waiter] = []
    /// Waiters parked, bounded by the shell's in-flight produces (connections × requests).
    public var waitingProduces: Int { waiters.count }

    /// - Parameters:
    ///   - logEndOffset, highWatermark: the local log's, as the leader takes over.
    ///   - nowMs: ISR members start caught up now, so a new leader does not shrink them before
    ///     they had a chance to fetch.
    public init(localID: NodeID, leaderEpoch: LeaderEpoch, partitionEpoch: PartitionEpoch, replicas: [NodeID],
                isr: [NodeID], logEndOffset: Offset, highWatermark: Offset, options: ReplicationOptions, nowMs: Int64) {
        precondition(isr.contains(localID), "leader \(localID) not in its ISR \(isr)")
        precondition(highWatermark <= logEndOffset, "HW \(highWatermark) past log end \(logEndOffset)")
        self.localID = localID
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.replicas = replicas
        self.isr = isr
        self.logEndOffset = logEndOffset
        self.highWatermark = highWatermark
        self.epochStartOffset = logEndOffset
        self.options = options
        var followers: [NodeID: FollowerProgress] = [:]
        for id in replicas where id != localID {
            followers[id] = FollowerProgress(lastCaughtUpMs: nowMs)
        }
        self.followers = followers
    }

    /// The partition's low watermark as DeleteRecords answers it (Kafka's
    /// `lowWatermarkIfLeader`): the lowest log start of this leader and its in-sync followers;
    /// nil while an in-sync follower has not reported one.
    public func lowWatermark(localLogStartOffset: Offset) -> Offset? {
        var lowest = localLogStartOffset
        for id in isr where id != localID {
            guard let start = followers[id]?.logStartOffset, start != .unknown else { return nil }
            lowest = min(lowest, start)
        }
        return lowest
    }

    /// Committed ISR plus members an in-flight change adds: what the HW must wait for.
    public var maximalISR: [NodeID] {
        guard let pendingISR else { return isr }
        return isr + pendingISR.filter { !isr.contains($0) }
    }

    // MARK: events

    /// The leader appended up to `newLogEndOffset` (exclusive).
    public mutating func appended(newLogEndOffset: Offset) -> [LeaderAction] {
        precondition(newLogEndOffset >= logEndOffset, "log end moved back from \(logEndOffset) to \(newLogEndOffset)")
        logEndOffset = newLogEndOffset
        return advanceHighWatermark()
    }

    /// Why a replica fetch is refused.
    public enum FetchRefusal: Error, Hashable, Sendable {
        /// The fetcher is not one of the partition's replicas.
        case notAReplica
        /// The fetcher's leader epoch is older than this leader's.
        case fencedLeaderEpoch
        /// The fetcher's leader epoch is newer: this node has not learned of it yet.
        case unknownLeaderEpoch
        /// The offset is past this leader's log end: the follower must truncate first.
        case offsetPastLogEnd
    }

    /// A follower fetched at `fetchOffset` with its view of the leader epoch. On success the
    /// shell serves records from `fetchOffset` up to the log end, with the HW after `actions`.
    /// - Parameter incarnation: the fetching broker's registration, if the shell knows it; a
    ///   new one means the follower restarted, and its earlier fetches no longer count.
    /// - Parameter logStartOffset: the follower's own log start, as its fetch reports it.
    public mutating func followerFetched(
        _ follower: NodeID, fetchOffset: Offset, currentLeaderEpoch: LeaderEpoch, nowMs: Int64,
        incarnation: BrokerIncarnation? = nil, logStartOffset: Offset = .unknown
    ) -> Result<[LeaderAction], FetchRefusal> {
        guard follower != localID, var progress = followers[follower] else { return .failure(.notAReplica) }
        // A fetcher that sends no epoch (-1) is an old client; replicas always send one.
        if currentLeaderEpoch < leaderEpoch { return .failure(.fencedLeaderEpoch) }
        if currentLeaderEpoch > leaderEpoch { return .failure(.unknownLeaderEpoch) }
        if fetchOffset > logEndOffset { return .failure(.offsetPastLogEnd) }
        if let incarnation, progress.incarnation != incarnation {
            progress.incarnation = incarnation
            progress.previousFetchLeaderEnd = .unknown
        }
        if fetchOffset >= logEndOffset {
            progress.lastCaughtUpMs = max(progress.lastCaughtUpMs, nowMs)
        } else if progress.previousFetchLeaderEnd != .unknown && fetchOffset >= progress.previousFetchLeaderEnd {
            progress.lastCaughtUpMs = max(progress.lastCaughtUpMs, progress.previousFetchMs)
        }
        progress.previousFetchLeaderEnd = logEndOffset
        progress.previousFetchMs = nowMs
        progress.logEndOffset = fetchOffset
        if logStartOffset != .unknown { progress.logStartOffset = logStartOffset }
        followers[follower] = progress
        var actions = advanceHighWatermark()
        actions += maybeExpand(follower)
        return .success(actions)
    }

    /// Time passes: ISR members that lag too long are proposed out; expired waiters time out.
    public mutating func tick(nowMs: Int64) -> [LeaderAction] {
        var actions: [LeaderAction] = []
        let expired = waiters.filter { $0.deadlineMs <= nowMs }
        if !expired.isEmpty {
            waiters.removeAll { $0.deadlineMs <= nowMs }
            actions += expired.map { .answerProduce(token: $0.token, .timedOut) }
        }
        guard pendingISR == nil else { return actions }
        let lagging = isr.filter { id in
            guard id != localID, let progress = followers[id] else { return false }
            return nowMs - progress.lastCaughtUpMs > options.replicaLagTimeMaxMs
        }
        if !lagging.isEmpty {
            let newISR = isr.filter { !lagging.contains($0) }
            actions.append(propose(newISR, reason: "replicas \(lagging) not caught up for \(options.replicaLagTimeMaxMs) ms"))
        }
        return actions
    }

    /// The committed metadata moved on at the same leader epoch (an ISR change, the
    /// controller removing a fenced broker). A different leader or epoch is the shell's
    /// business: it resigns this state.
    public mutating func metadataChanged(replicas newReplicas: [NodeID], isr newISR: [NodeID],
                                         partitionEpoch newEpoch: PartitionEpoch, nowMs: Int64) -> [LeaderAction] {
        guard newEpoch > partitionEpoch else { return [] }
        precondition(newISR.contains(localID), "leader \(localID) not in the new ISR \(newISR)")
        // A member this change drops may have restarted with a shorter log (the controller
        // takes a restarted broker out of every ISR): where it fetched before proves nothing
        // now, so it must fetch again before it can be proposed back in.
        for id in maximalISR where id != localID && !newISR.contains(id) {
            followers[id]?.logEndOffset = .unknown
            followers[id]?.previousFetchLeaderEnd = .unknown
        }
        partitionEpoch = newEpoch
        // A member the controller took out (fenced, restarted) is re-added only after it
        // fetches again: what it had before may be gone, and its old position must not count.
        for id in isr where !newISR.contains(id) && id != localID {
            followers[id]?.logEndOffset = .unknown
        }
        isr = newISR
        replicas = newReplicas
        for id in newReplicas where id != localID && followers[id] == nil {
            followers[id] = FollowerProgress(lastCaughtUpMs: nowMs)
        }
        for id in followers.keys where !newReplicas.contains(id) { followers[id] = nil }
        // Whatever was in flight was answered by (or lost to) this change.
        pendingISR = nil
        pendingProposal = nil
        var actions = advanceHighWatermark()
        for id in replicas where !isr.contains(id) { actions += maybeExpand(id) }
        return actions
    }

    /// The controller's answer to the ISR change in flight.
    public enum ISRChangeAnswer: Hashable, Sendable {
        case accepted(isr: [NodeID], partitionEpoch: PartitionEpoch)
        /// Refused and not applied: an ineligible (fenced) replica or an invalid ISR, judged
        /// at the partition epoch the proposal was based on. (Had an earlier copy of it been
        /// applied, that epoch would be gone and the refusal a stale one: `outcomeUnknown`.)
        /// The change in flight is dropped; the next fetch or tick proposes again if needed.
        case rejected
        /// No answer (lost, timed out, the controller moved), or a refusal because this
        /// leader's view is stale (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH,
        /// NOT_LEADER_OR_FOLLOWER): the change may have been applied. The pending ISR keeps
        /// counting towards the HW until the metadata settles it, since the controller may
        /// already count an added member as in sync; dropping it would let the HW pass
        /// batches that member lacks, and the controller may elect it. The same proposal
        /// comes back for the shell to send again after its backoff (Kafka's
        /// AlterPartitionManager retries the same way, and resets only on INELIGIBLE_REPLICA).
        case outcomeUnknown
    }

    public mutating func isrChangeAnswered(_ answer: ISRChangeAnswer, nowMs: Int64) -> [LeaderAction] {
        switch answer {
        case .accepted(let newISR, let epoch):
            return metadataChanged(replicas: replicas, isr: newISR, partitionEpoch: epoch, nowMs: nowMs)
        case .rejected:
            pendingISR = nil
            pendingProposal = nil
            return []
        case .outcomeUnknown:
            guard let pendingProposal else { return [] }
            return [.proposeISR(pendingProposal)]
        }
    }

    /// An `acks=all` produce of a batch ending at `lastOffset` waits for the HW.
    public mutating func awaitHighWatermark(token: UInt64, lastOffset: Offset, minInsyncReplicas: Int,
                                            deadlineMs: Int64) -> [LeaderAction] {
        let waiter = Waiter(token: token, lastOffset: lastOffset, minInsyncReplicas: minInsyncReplicas, deadlineMs: deadlineMs)
        if let outcome = completion(of: waiter) { return [.answerProduce(token: token, outcome)] }
        waiters.append(waiter)
        return []
    }

    /// The leader epoch ends (a new leader or epoch, or this replica closes): every waiting
    /// produce fails, since its batch may yet be truncated.
    public mutating func resign() -> [LeaderAction] {
        defer { waiters.removeAll() }
        return waiters.map { .answerProduce(token: $0.token, .notLeader) }
    }

    // MARK: rules

    private func completion(of waiter: Waiter) -> ProduceWaitOutcome? {
        guard highWatermark > waiter.lastOffset else { return nil }
        return isr.count >= waiter.minInsyncReplicas ? .committed : .notEnoughReplicasAfterAppend
    }

    private mutating func advanceHighWatermark() -> [LeaderAction] {
        var candidate = logEndOffset
        for id in maximalISR where id != localID {
            let end = followers[id]?.logEndOffset ?? .unknown
            if end == .unknown { return answerWaiters() }
            candidate = min(candidate, end)
        }
        guard candidate > highWatermark else { return answerWaiters() }
        highWatermark = candidate
        return [.highWatermarkAdvanced(candidate)] + answerWaiters()
    }

    private mutating func answerWaiters() -> [LeaderAction] {
        var actions: [LeaderAction] = []
        var waiting: [Waiter] = []
        for waiter in waiters {
            if let outcome = completion(of: waiter) {
                actions.append(.answerProduce(token: waiter.token, outcome))
            } else {
                waiting.append(waiter)
            }
        }
        waiters = waiting
        return actions
    }

    private mutating func maybeExpand(_ follower: NodeID) -> [LeaderAction] {
        guard pendingISR == nil, !isr.contains(follower), let progress = followers[follower],
            progress.logEndOffset != .unknown, progress.logEndOffset >= highWatermark,
            progress.logEndOffset >= epochStartOffset
        else { return [] }
        return [propose(isr + [follower], reason: "replica \(follower) caught up to the high watermark \(highWatermark)")]
    }

    private mutating func propose(_ newISR: [NodeID], reason: String) -> LeaderAction {
        pendingISR = newISR
        var incarnations: [NodeID: BrokerIncarnation] = [:]
        for id in newISR where !isr.contains(id) { incarnations[id] = followers[id]?.incarnation }
        let proposal = ISRProposal(leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, oldISR: isr,
                                   newISR: newISR, addedIncarnations: incarnations, reason: reason)
        pendingProposal = proposal
        return .proposeISR(proposal)
    }
}

/// An ISR change for the controller (AlterPartition).
public struct ISRProposal: Hashable, Sendable {
    public var leaderEpoch: LeaderEpoch
    /// The partition epoch the change is based on; the controller refuses a stale one.
    public var partitionEpoch: PartitionEpoch
    public var oldISR: [NodeID]
    public var newISR: [NodeID]
    /// For each member the change adds, the incarnation whose fetches justified it: the
    /// controller must refuse the change if that broker has registered anew since (KIP-903),
    /// since the leader may not have heard of the restart, and a proposal sent again after a
    /// lost answer may be older than it.
    public var addedIncarnations: [NodeID: BrokerIncarnation]
    /// Why, for the log line.
    public var reason: String
}

/// How an `acks=all` produce ends.
public enum ProduceWaitOutcome: Hashable, Sendable {
    /// Every in-sync replica has the batch, and there were at least `min.insync.replicas`.
    case committed
    /// The HW passed the batch, but the ISR had shrunk below `min.insync.replicas`.
    case notEnoughReplicasAfterAppend
    /// The leader epoch ended before the HW passed the batch.
    case notLeader
    /// The request timeout passed first.
    case timedOut
}

/// What the leader shell must do.
public enum LeaderAction: Hashable, Sendable {
    /// Record the new HW in the log (consumers read up to it) and wake waiting fetches.
    case highWatermarkAdvanced(Offset)
    /// Answer the produce waiting under `token`.
    case answerProduce(token: UInt64, ProduceWaitOutcome)
    /// Ask the controller for this ISR, and log the change with its reason.
    case proposeISR(ISRProposal)
}
