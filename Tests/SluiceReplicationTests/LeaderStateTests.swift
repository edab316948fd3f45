import SluiceCore
import SluiceReplication
import Testing

@Suite struct LeaderStateTests {
    static let options: ReplicationOptions = {
        var o = ReplicationOptions()
        o.replicaLagTimeMaxMs = 1_000
        return o
    }()

    /// Node 1 leads epoch 3 over replicas 1, 2, 3, all in sync, with 10 records and HW 10.
    func leader(isr: [NodeID] = [1, 2, 3], end: Offset = 10, hw: Offset = 10) -> LeaderState {
        LeaderState(localID: 1, leaderEpoch: 3, partitionEpoch: 7, replicas: [1, 2, 3], isr: isr,
                    logEndOffset: end, highWatermark: hw, options: Self.options, nowMs: 0)
    }

    func fetch(_ s: inout LeaderState, _ id: NodeID, at offset: Offset, now: Int64, epoch: LeaderEpoch = 3) -> [LeaderAction] {
        switch s.followerFetched(id, fetchOffset: offset, currentLeaderEpoch: epoch, nowMs: now) {
        case .success(let actions): return actions
        case .failure(let refusal): Issue.record("fetch refused: \(refusal)"); return []
        }
    }

    @Test func highWatermarkIsTheMinimumLogEndOverTheISR() {
        var s = leader()
        #expect(s.appended(newLogEndOffset: 20).isEmpty, "followers have not fetched: HW holds")
        #expect(fetch(&s, 2, at: 20, now: 1).isEmpty, "follower 3's position is still unknown")
        #expect(fetch(&s, 3, at: 15, now: 1) == [.highWatermarkAdvanced(15)])
        #expect(fetch(&s, 3, at: 20, now: 2) == [.highWatermarkAdvanced(20)])
        #expect(s.highWatermark == 20)
    }

    @Test func lowWatermarkIsTheLowestLogStartOverTheISRAndUnknownUntilEachReports() {
        var s = leader(isr: [1, 2])
        #expect(s.lowWatermark(localLogStartOffset: 6) == nil, "follower 2 has not reported its log start")
        _ = s.followerFetched(2, fetchOffset: 10, currentLeaderEpoch: 3, nowMs: 1, logStartOffset: 4)
        #expect(s.lowWatermark(localLogStartOffset: 6) == 4)
        // A fetch without a log start (-1) keeps the last one reported.
        _ = s.followerFetched(2, fetchOffset: 10, currentLeaderEpoch: 3, nowMs: 2)
        #expect(s.lowWatermark(localLogStartOffset: 6) == 4)
        _ = s.followerFetched(2, fetchOffset: 10, currentLeaderEpoch: 3, nowMs: 3, logStartOffset: 6)
        // Node 3 is out of the ISR: whatever it has does not hold DeleteRecords up.
        #expect(s.lowWatermark(localLogStartOffset: 6) == 6)
    }

    @Test func aMemberTheControllerRemovedIsNotReaddedOnItsOldPosition() {
        var s = leader()
        _ = fetch(&s, 2, at: 10, now: 1)
        _ = fetch(&s, 3, at: 10, now: 1)
        // The controller fences node 3 and takes it out of the ISR: its old position, at the HW,
        // must not propose it straight back (it may have restarted and lost its tail).
        let actions = s.metadataChanged(replicas: [1, 2, 3], isr: [1, 2], partitionEpoch: 8, nowMs: 2)
        #expect(!actions.contains { if case .proposeISR = $0 { true } else { false } }, "\(actions)")
        #expect(s.followers[3]?.logEndOffset == .unknown)
        // Once it fetches at the HW again it is proposed back in.
        let back = fetch(&s, 3, at: 10, now: 3)
        #expect(back.contains { if case .proposeISR(let p) = $0 { p.newISR == [1, 2, 3] } else { false } }, "\(back)")
    }

    @Test func highWatermarkNeverMovesBack() {
        var s = leader(end: 10, hw: 10)
        _ = fetch(&s, 2, at: 4, now: 1)
        _ = fetch(&s, 3, at: 4, now: 1)
        #expect(s.highWatermark == 10)
    }

    @Test func aLeaderAloneInTheISRCommitsOnAppend() {
        var s = leader(isr: [1], end: 0, hw: 0)
        #expect(s.appended(newLogEndOffset: 5) == [.highWatermarkAdvanced(5)])
    }

    @Test func acksAllWaitsForEveryISRMember() {
        var s = leader()
        _ = s.appended(newLogEndOffset: 12)
        #expect(s.awaitHighWatermark(token: 9, lastOffset: 11, minInsyncReplicas: 2, deadlineMs: 100).isEmpty)
        _ = fetch(&s, 2, at: 12, now: 1)
        #expect(fetch(&s, 3, at: 12, now: 1) == [.highWatermarkAdvanced(12), .answerProduce(token: 9, .committed)])
        #expect(s.waitingProduces == 0)
    }

    @Test func acksAllTimesOutAtItsDeadline() {
        var s = leader()
        _ = s.appended(newLogEndOffset: 12)
        _ = s.awaitHighWatermark(token: 1, lastOffset: 11, minInsyncReplicas: 2, deadlineMs: 50)
        #expect(s.tick(nowMs: 49).isEmpty)
        #expect(s.tick(nowMs: 50) == [.answerProduce(token: 1, .timedOut)])
    }

    @Test func laggingFollowerIsProposedOutAndTheHWCountsTheLargerSetUntilCommitted() {
        var s = leader()
        _ = s.appended(newLogEndOffset: 12)
        _ = fetch(&s, 2, at: 12, now: 500)
        _ = s.awaitHighWatermark(token: 1, lastOffset: 11, minInsyncReplicas: 2, deadlineMs: 10_000)
        let actions = s.tick(nowMs: 1_001)
        guard case .proposeISR(let proposal) = actions.first else { Issue.record("no shrink in \(actions)"); return }
        #expect(proposal.newISR == [1, 2] && proposal.oldISR == [1, 2, 3] && proposal.partitionEpoch == 7)
        // Maximal ISR: until the controller commits the shrink, node 3 still counts.
        #expect(s.highWatermark == 10)
        #expect(s.tick(nowMs: 1_500).isEmpty, "one change in flight at a time")
        let after = s.isrChangeAnswered(.accepted(isr: [1, 2], partitionEpoch: 8), nowMs: 1_500)
        #expect(after == [.highWatermarkAdvanced(12), .answerProduce(token: 1, .committed)])
    }

    @Test func shrinkBelowMinInsyncWhileWaitingIsNotEnoughReplicasAfterAppend() {
        var s = leader(isr: [1, 2])
        _ = s.appended(newLogEndOffset: 12)
        _ = s.awaitHighWatermark(token: 4, lastOffset: 11, minInsyncReplicas: 2, deadlineMs: 10_000)
        let actions = s.metadataChanged(replicas: [1, 2, 3], isr: [1], partitionEpoch: 8, nowMs: 10)
        #expect(actions == [.highWatermarkAdvanced(12), .answerProduce(token: 4, .notEnoughReplicasAfterAppend)])
    }

    @Test func caughtUpFollowerIsProposedIn() {
        var s = leader(isr: [1, 2], end: 10, hw: 10)
        let actions = fetch(&s, 3, at: 10, now: 5)
        guard case .proposeISR(let proposal) = actions.last else { Issue.record("no expansion in \(actions)"); return }
        #expect(proposal.newISR == [1, 2, 3])
        #expect(s.maximalISR == [1, 2, 3])
    }

    @Test func followerBehindTheHWIsNotProposedIn() {
        var s = leader(isr: [1, 2], end: 10, hw: 10)
        #expect(fetch(&s, 3, at: 9, now: 5).isEmpty)
        #expect(s.pendingISR == nil)
    }

    @Test func pendingExpansionHoldsTheHWForTheNewMember() {
        var s = leader(isr: [1, 2], end: 10, hw: 10)
        _ = fetch(&s, 3, at: 10, now: 5)  // proposed in
        _ = s.appended(newLogEndOffset: 15)
        _ = fetch(&s, 2, at: 15, now: 6)
        #expect(s.highWatermark == 10, "node 3 is in the maximal ISR and has not fetched 15")
        #expect(fetch(&s, 3, at: 15, now: 7) == [.highWatermarkAdvanced(15)])
    }

    @Test func rejectedChangeIsProposedAgainOnTheNextTick() {
        var s = leader()
        _ = fetch(&s, 2, at: 10, now: 1_500)
        _ = s.tick(nowMs: 1_100)
        #expect(s.pendingISR == [1, 2])
        _ = s.isrChangeAnswered(.rejected, nowMs: 1_200)
        #expect(s.pendingISR == nil)
        #expect(s.tick(nowMs: 1_300).count == 1)
    }

    /// Found by the replication simulator (seed 1170 with 30 % message loss): a lost answer
    /// to an expansion was taken as a rejection, the HW moved on without the new member, and
    /// the controller, which had applied the expansion, elected that member without the
    /// acknowledged batches.
    @Test func expansionWithAnUnknownOutcomeKeepsHoldingTheHWForTheNewMember() {
        var s = leader(isr: [1, 2], end: 10, hw: 10)
        let proposed = fetch(&s, 3, at: 10, now: 5)
        guard case .proposeISR(let proposal)? = proposed.first else {
            Issue.record("no expansion proposed: \(proposed)")
            return
        }
        #expect(s.isrChangeAnswered(.outcomeUnknown, nowMs: 300) == [.proposeISR(proposal)], "the same proposal, to send again")
        #expect(s.pendingISR == [1, 2, 3])
        _ = s.appended(newLogEndOffset: 15)
        _ = fetch(&s, 2, at: 15, now: 301)
        #expect(s.highWatermark == 10, "node 3 may already be in the controller's ISR without offsets 10…14")
        _ = s.metadataChanged(replicas: [1, 2, 3], isr: [1, 2, 3], partitionEpoch: 8, nowMs: 302)
        #expect(s.pendingISR == nil)
        #expect(s.isrChangeAnswered(.outcomeUnknown, nowMs: 303).isEmpty, "nothing in flight any more")
    }

    /// Found by the replication simulator (seed 2917): the controller took a restarted
    /// follower out of the ISR, and the leader proposed it straight back on the position it
    /// had fetched before the crash; the controller then elected it with its short log.
    @Test func memberDroppedByTheControllerMustFetchAgainBeforeRejoining() {
        var s = leader(end: 10, hw: 10)
        _ = fetch(&s, 2, at: 10, now: 1)
        _ = fetch(&s, 3, at: 10, now: 1)
        let dropped = s.metadataChanged(replicas: [1, 2, 3], isr: [1, 3], partitionEpoch: 8, nowMs: 2)
        #expect(dropped.isEmpty, "node 2's position from before its restart must not bring it back: \(dropped)")
        #expect(s.followers[2]?.logEndOffset == .unknown)
        #expect(s.metadataChanged(replicas: [1, 2, 3], isr: [1, 3], partitionEpoch: 9, nowMs: 3).isEmpty)
        #expect(fetch(&s, 2, at: 4, now: 4).isEmpty, "its real log end is below the HW")
        guard case .proposeISR(let proposal)? = fetch(&s, 2, at: 10, now: 5).first else {
            Issue.record("no expansion once node 2 fetched at the HW")
            return
        }
        #expect(proposal.newISR == [1, 3, 2])
    }

    /// Found by the replication simulator (seeds 300610 and 506333 under heavy crashes and
    /// loss): a follower restarted with a shorter log, and the leader, which had not heard of
    /// the restart, proposed it into the ISR on what its previous life had fetched. An
    /// expansion now names the incarnation whose fetches justified it, so the controller can
    /// refuse a stale one (KIP-903); a fetch from a new incarnation replaces the old position.
    @Test func anExpansionNamesTheIncarnationWhoseFetchesJustifiedIt() {
        let before = BrokerIncarnation(high: 3, low: 1)
        let after = BrokerIncarnation(high: 3, low: 2)
        var s = leader(isr: [1, 2], end: 10, hw: 10)
        guard case .success(let actions) = s.followerFetched(3, fetchOffset: 10, currentLeaderEpoch: 3, nowMs: 5, incarnation: before),
            case .proposeISR(let proposal)? = actions.first
        else {
            Issue.record("no expansion proposed")
            return
        }
        #expect(proposal.addedIncarnations == [3: before])
        _ = s.isrChangeAnswered(.rejected, nowMs: 6)
        #expect(s.followerFetched(3, fetchOffset: 4, currentLeaderEpoch: 3, nowMs: 7, incarnation: after) == .success([]),
                "the restarted follower is below the HW: no expansion")
        #expect(s.followers[3]?.incarnation == after && s.followers[3]?.logEndOffset == 4)
    }

    @Test func fetchesWithTheWrongEpochOrFromStrangersAreRefused() {
        var s = leader()
        #expect(s.followerFetched(9, fetchOffset: 0, currentLeaderEpoch: 3, nowMs: 0) == .failure(.notAReplica))
        #expect(s.followerFetched(1, fetchOffset: 0, currentLeaderEpoch: 3, nowMs: 0) == .failure(.notAReplica))
        #expect(s.followerFetched(2, fetchOffset: 0, currentLeaderEpoch: 2, nowMs: 0) == .failure(.fencedLeaderEpoch))
        #expect(s.followerFetched(2, fetchOffset: 0, currentLeaderEpoch: 4, nowMs: 0) == .failure(.unknownLeaderEpoch))
        #expect(s.followerFetched(2, fetchOffset: 11, currentLeaderEpoch: 3, nowMs: 0) == .failure(.offsetPastLogEnd))
    }

    @Test func followerKeepingUpWithAMovingLogIsNotShrunk() {
        var s = leader()
        // The leader keeps appending; each fetch reaches the leader's end as of the previous one.
        var now: Int64 = 0
        var end: Int64 = 10
        for _ in 0..<30 {
            now += 100
            _ = fetch(&s, 2, at: Offset(end), now: now)
            _ = fetch(&s, 3, at: Offset(end), now: now)
            end += 5
            _ = s.appended(newLogEndOffset: Offset(end))
        }
        #expect(s.tick(nowMs: now + 1).isEmpty)
    }

    @Test func resignFailsEveryWaiterAsNotLeader() {
        var s = leader()
        _ = s.appended(newLogEndOffset: 12)
        _ = s.awaitHighWatermark(token: 1, lastOffset: 10, minInsyncReplicas: 1, deadlineMs: 100)
        _ = s.awaitHighWatermark(token: 2, lastOffset: 11, minInsyncReplicas: 1, deadlineMs: 100)
        #expect(s.resign() == [.answerProduce(token: 1, .notLeader), .answerProduce(token: 2, .notLeader)])
        #expect(s.waitingProduces == 0)
    }
}
