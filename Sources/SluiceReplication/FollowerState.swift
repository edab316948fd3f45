import SluiceCore

/// The follower side of one partition's replication, as a pure state machine: the truncation
/// handshake of KIP-101/KIP-279 (ask the leader where our latest epoch ends, truncate there,
/// repeat with an older epoch until both logs agree), then fetching. It never truncates by
/// high watermark. One value lives for one (leader, leader epoch); the shell builds a new one
/// when the metadata names a new leader or epoch.
///
/// The shell (`PartitionReplica` with its leader's `ReplicaFetcher`) performs the actions:
/// send OffsetForLeaderEpoch, truncate the log, put the partition in the fetcher at an offset,
/// set the follower HW, back off.
public struct FollowerState: Sendable {
    public enum Phase: Hashable, Sendable {
        /// Waiting for the leader's answer to OffsetForLeaderEpoch for this epoch.
        case awaitingEpochEndOffset(asked: LeaderEpoch)
        /// In the leader's fetcher, fetching at the log end.
        case fetching
        /// Stopped until the metadata moves on (the leader knows a newer epoch than ours).
        case fenced
    }

    /// Where one of this replica's epochs ends in its own log (`LeaderEpochCache.endOffset`):
    /// the largest epoch ≤ the asked one and its end, or nil if none is known.
    public typealias LocalEpochLookup = (LeaderEpoch) -> (epoch: LeaderEpoch, endOffset: Offset)?

    public let leader: NodeID
    public let leaderEpoch: LeaderEpoch
    public private(set) var phase: Phase
    public private(set) var logEndOffset: Offset
    public private(set) var highWatermark: Offset
    /// Rounds of the epoch handshake so far. Invariant: each round asks an older epoch, so
    /// it ends within as many rounds as the log has epochs.
    public private(set) var handshakeRounds = 0

    /// A new follower state and its first action.
    /// - Parameter latestLocalEpoch: the newest epoch in the local log, nil if it has none.
    public static func start(leader: NodeID, leaderEpoch: LeaderEpoch, latestLocalEpoch: LeaderEpoch?,
                             logStartOffset: Offset, logEndOffset: Offset, highWatermark: Offset) -> (FollowerState, [FollowerAction]) {
        if let latest = latestLocalEpoch {
            let state = FollowerState(leader: leader, leaderEpoch: leaderEpoch, phase: .awaitingEpochEndOffset(asked: latest),
                                      logEndOffset: logEndOffset, highWatermark: highWatermark)
            return (state, [.askEpochEndOffset(latest)])
        }
        // No epoch at all: an empty log fetches from its end; records without an epoch cannot be
        // matched with the leader's, so they go (the leader has them if they were committed).
        var state = FollowerState(leader: leader, leaderEpoch: leaderEpoch, phase: .fetching,
                                  logEndOffset: logEndOffset, highWatermark: highWatermark)
        var actions: [FollowerAction] = []
        if logEndOffset > logStartOffset {
            actions.append(.truncate(to: logStartOffset))
            state.logEndOffset = logStartOffset
            state.highWatermark = min(highWatermark, logStartOffset)
        }
        actions.append(.fetch(from: state.logEndOffset))
        return (state, actions)
    }

    private init(leader: NodeID, leaderEpoch: LeaderEpoch, phase: Phase, logEndOffset: Offset, highWatermark: Offset) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.phase = phase
        self.logEndOffset = logEndOffset
        self.highWatermark = highWatermark
    }

    /// The leader's answer to OffsetForLeaderEpoch.
    public enum EpochAnswer: Hashable, Sendable {
        /// The largest epoch ≤ the asked one the leader knows, and where it ends in the
        /// leader's log; `.unknown` epoch: the leader has no epoch that old.
        case endOffset(epoch: LeaderEpoch, endOffset: Offset)
        /// The leader's epoch is older than ours: it has not applied the change yet.
        case unknownLeaderEpoch
        /// Ours is older than the leader's: wait for the metadata.
        case fencedLeaderEpoch
        /// Not the leader, a connection failure, a storage error: try again later.
        case retriable
    }

    public mutating func epochAnswered(_ answer: EpochAnswer, logStartOffset: Offset,
                                       localEndOffset: LocalEpochLookup) -> [FollowerAction] {
        guard case .awaitingEpochEndOffset(let asked) = phase else { return [] }
        switch answer {
        case .unknownLeaderEpoch, .retriable:
            return [.backOff, .askEpochEndOffset(asked)]
        case .fencedLeaderEpoch:
            phase = .fenced
            return []
        case .endOffset(let leaderEpochAnswer, let leaderEnd):
            handshakeRounds += 1
            if leaderEpochAnswer == .unknown || leaderEnd == .unknown {
                // The leader has nothing as old as our epoch: nothing of ours is known to match.
                return truncateThenFetch(to: logStartOffset)
            }
            guard let local = localEndOffset(leaderEpochAnswer) else {
                return truncateThenFetch(to: logStartOffset)
            }
            if local.epoch == leaderEpochAnswer {
                // Both logs hold this epoch; they agree up to where the shorter one ends it.
                return truncateThenFetch(to: min(local.endOffset, leaderEnd, logEndOffset))
            }
            // We never had the leader's epoch: ask again for the newest one we do have
            // that is older, until the two logs meet.
            precondition(local.epoch < asked, "epoch lookup went forward from \(asked) to \(local.epoch)")
            phase = .awaitingEpochEndOffset(asked: local.epoch)
            return [.askEpochEndOffset(local.epoch)]
        }
    }

    private mutating func truncateThenFetch(to offset: Offset) -> [FollowerAction] {
        let target = max(offset, .zero)
        var actions: [FollowerAction] = []
        if target < logEndOffset {
            actions.append(.truncate(to: target))
            logEndOffset = target
            highWatermark = min(highWatermark, target)
        }
        phase = .fetching
        actions.append(.fetch(from: logEndOffset))
        return actions
    }

    /// The leader's answer to a fetch at our log end.
    public enum FetchAnswer: Hashable, Sendable {
        /// Records (possibly none) were appended locally up to `newLogEndOffset`; the
        /// leader's HW and log start came with them (`.unknown` when the leader did not say).
        case appended(newLogEndOffset: Offset, leaderHighWatermark: Offset, leaderLogStartOffset: Offset = .unknown)
        /// Our offset is outside the leader's log.
        case offsetOutOfRange(leaderLogStartOffset: Offset)
        case fencedLeaderEpoch
        case unknownLeaderEpoch
        case retriable
    }

    /// - Parameters: latestLocalEpoch, logStartOffset: the local log's now, for restarting the
    ///   handshake when the leader says our log runs past its end.
    public mutating func fetchAnswered(_ answer: FetchAnswer, latestLocalEpoch: LeaderEpoch?,
                                       logStartOffset: Offset) -> [FollowerAction] {
        guard phase == .fetching else { return [] }
        switch answer {
        case .appended(let end, let leaderHW, let leaderStart):
            precondition(end >= logEndOffset, "a fetch moved the log end back from \(logEndOffset) to \(end)")
            logEndOffset = end
            var actions: [FollowerAction] = []
            let hw = min(leaderHW, end)
            if hw > highWatermark {
                highWatermark = hw
                actions.append(.setHighWatermark(hw))
            }
            // DeleteRecords (or retention) moved the leader's log start: follow it, as Kafka's
            // follower does, so a consumer that reads from here after a leader change starts
            // where the leader's did. Never past our HW: what lies beyond it is not ours yet.
            let start = min(leaderStart, highWatermark)
            if start > logStartOffset { actions.append(.advanceLogStart(to: start)) }
            return actions
        case .offsetOutOfRange(let leaderStart):
            if logEndOffset < leaderStart {
                // The leader deleted what we would fetch next: start over at its log start.
                logEndOffset = leaderStart
                highWatermark = leaderStart
                return [.restartLog(at: leaderStart), .fetch(from: leaderStart)]
            }
            // Past the leader's end: our log diverged; find where with the handshake again.
            guard let latestLocalEpoch else { return [.stopFetching] + truncateThenFetch(to: logStartOffset) }
            phase = .awaitingEpochEndOffset(asked: latestLocalEpoch)
            return [.stopFetching, .askEpochEndOffset(latestLocalEpoch)]
        case .fencedLeaderEpoch:
            phase = .fenced
            return [.stopFetching]
        case .unknownLeaderEpoch, .retriable:
            return [.backOff]
        }
    }
}

/// What the follower shell must do, in order.
public enum FollowerAction: Hashable, Sendable {
    /// Send OffsetForLeaderEpoch(epoch) with our current leader epoch to the leader.
    case askEpochEndOffset(LeaderEpoch)
    /// Remove every batch at or after `offset` (fsynced before going on).
    case truncate(to: Offset)
    /// Empty the log and start it at `offset` (the leader's log start).
    case restartLog(at: Offset)
    /// Add the partition to (or move it within) the leader's fetcher at `offset`.
    case fetch(from: Offset)
    /// Take the partition out of the fetcher.
    case stopFetching
    /// Record the follower's high watermark.
    case setHighWatermark(Offset)
    /// Move the log start forward to the leader's (never past the follower's HW).
    case advanceLogStart(to: Offset)
    /// Wait before the next request for this partition (the fetcher's error backoff).
    case backOff
}
