import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceReplication
import SluiceStorage
import SluiceWire

/// What a leader's fetcher does next for one partition, as its follower replica decided.
struct FetchDirective: Sendable, Equatable {
    enum Next: Sendable, Equatable {
        /// Send OffsetForLeaderEpoch for this epoch (the truncation handshake).
        case askEpochEndOffset(LeaderEpoch)
        /// Fetch from this offset.
        case fetch(from: Offset)
        /// Leave the partition out until the metadata moves on.
        case stop
        /// Keep doing what it did.
        case unchanged
    }
    var next: Next
    /// Wait the fetcher's backoff before the next request for this partition.
    var backOff = false
    /// The replica's log start after this step, when known: the next fetch reports it to the
    /// leader (Fetch v5+ `log_start_offset`), which DeleteRecords waits on.
    var logStartOffset: Offset? = nil
}

/// The follower side: the epoch handshake, truncation and appending what the leader sent.
extension PartitionReplica {
    func becomeFollower() async -> FetchDirective {
        producers = nil
        await cutBackToDamage()
        let cache = await log.epochCache
        let (state, actions) = FollowerState.start(
            leader: self.state.leader, leaderEpoch: self.state.leaderEpoch, latestLocalEpoch: cache.latestEpoch,
            logStartOffset: await log.logStartOffset, logEndOffset: await log.logEndOffset,
            highWatermark: await log.highWatermark)
        follower = state
        logger.info("\(partition) follows \(self.state.leader) at epoch \(self.state.leaderEpoch), log end \(state.logEndOffset)")
        return await performFollower(actions, epoch: self.state.leaderEpoch)
    }

    /// The leader's answer to OffsetForLeaderEpoch, for the epoch the fetcher asked under.
    func epochAnswered(_ answer: FollowerState.EpochAnswer, leaderEpoch: LeaderEpoch) async -> FetchDirective {
        let cache = await log.epochCache
        let end = await log.logEndOffset
        let start = await log.logStartOffset
        // The follower state is read after the last suspension: `update` may have replaced it.
        guard var current = follower, current.leaderEpoch == leaderEpoch else { return FetchDirective(next: currentNext(epoch: leaderEpoch)) }
        let actions = current.epochAnswered(answer, logStartOffset: start,
                                            localEndOffset: { cache.endOffset(for: $0, logEndOffset: end) })
        follower = current
        return await performFollower(actions, epoch: leaderEpoch)
    }

    /// One partition of the leader's Fetch response, for the epoch the fetcher fetched under:
    /// appends the batches, then takes the leader's HW.
    func fetchAnswered(_ data: FetchResponse.FetchableTopicResponse.PartitionData, leaderEpoch: LeaderEpoch) async -> FetchDirective {
        guard let before = follower, before.leaderEpoch == leaderEpoch, before.phase == .fetching else {
            return FetchDirective(next: currentNext(epoch: leaderEpoch))
        }
        // The scrub found damage while following: once outside the ISR, cut back and start
        // over from there (the answer was for an offset past the cut); inside, report it.
        if damage != nil {
            if !state.isr.contains(nodeID) { return await becomeFollower() }
            reportDamageWhileInISR()
        }
        let answer: FollowerState.FetchAnswer
        switch KafkaErrorCode(rawValue: data.errorCode) ?? .unknownServerError {
        case .none:
            do throws(LogError) {
                if let records = data.records, records.readableBytes > 0 {
                    _ = try await log.appendAsFollower(records)
                }
                answer = .appended(newLogEndOffset: await log.logEndOffset, leaderHighWatermark: data.highWatermark,
                                   leaderLogStartOffset: data.logStartOffset)
            } catch {
                logger.error("\(partition): appending fetched batches failed: \(error)")
                answer = .retriable
            }
        case .offsetOutOfRange:
            answer = .offsetOutOfRange(leaderLogStartOffset: data.logStartOffset)
        case .fencedLeaderEpoch:
            answer = .fencedLeaderEpoch
        case .unknownLeaderEpoch:
            answer = .unknownLeaderEpoch
        default:
            answer = .retriable
        }
        let latest = await log.epochCache.latestEpoch
        let start = await log.logStartOffset
        // Read again after the suspensions above: `update` may have replaced the follower.
        guard var current = follower, current.leaderEpoch == leaderEpoch, current.phase == .fetching else {
            return FetchDirective(next: currentNext(epoch: leaderEpoch))
        }
        let actions = current.fetchAnswered(answer, latestLocalEpoch: latest, logStartOffset: start)
        follower = current
        var directive = await performFollower(actions, epoch: leaderEpoch)
        if directive.logStartOffset == nil { directive.logStartOffset = start }
        return directive
    }

    /// Where the follower stands now, as the fetcher's next step for it under `epoch`.
    private func currentNext(epoch: LeaderEpoch) -> FetchDirective.Next {
        guard let follower, follower.leaderEpoch == epoch else { return .stop }
        switch follower.phase {
        case .awaitingEpochEndOffset(let asked): return .askEpochEndOffset(asked)
        case .fetching: return .fetch(from: follower.logEndOffset)
        case .fenced: return .stop
        }
    }

    private func performFollower(_ actions: [FollowerAction], epoch: LeaderEpoch) async -> FetchDirective {
        var directive = FetchDirective(next: .unchanged)
        for action in actions {
            switch action {
            case .askEpochEndOffset(let asked):
                directive.next = .askEpochEndOffset(asked)
            case .truncate(let offset):
                do throws(LogError) {
                    let before = await log.logEndOffset
                    forgetDamage(cutAt: try await log.truncate(to: offset))
                    logger.info("\(partition) truncated to \(offset) (log end was \(before)) following \(state.leader) at epoch \(epoch)")
                } catch {
                    logger.error("\(partition): truncating to \(offset) failed: \(error)")
                    return FetchDirective(next: .stop, backOff: true)
                }
            case .restartLog(let offset):
                do throws(LogError) {
                    try await log.truncateFullyAndStart(at: offset)
                    directive.logStartOffset = offset
                    forgetDamage(cutAt: .zero)
                    logger.info("\(partition) emptied and restarted at the leader's log start \(offset)")
                } catch {
                    logger.error("\(partition): restarting the log at \(offset) failed: \(error)")
                    return FetchDirective(next: .stop, backOff: true)
                }
            case .fetch(let offset):
                directive.next = .fetch(from: offset)
            case .stopFetching:
                directive.next = .stop
            case .setHighWatermark(let hw):
                do throws(LogError) { try await log.updateHighWatermark(hw) } catch {
                    logger.error("\(partition): recording HW \(hw) failed: \(error)")
                }
            case .advanceLogStart(let offset):
                do throws(LogError) {
                    try await log.advanceLogStart(to: offset)
                    directive.logStartOffset = offset
                    logger.info("\(partition) log start moved to \(offset), following leader \(state.leader)")
                } catch {
                    logger.error("\(partition): moving the log start to \(offset) failed: \(error)")
                }
            case .backOff:
                directive.backOff = true
            }
        }
        // The fetcher always learns the offset to fetch from next (a fetch moves the log end).
        if directive.next == .unchanged { directive.next = currentNext(epoch: epoch) }
        return directive
    }
}
