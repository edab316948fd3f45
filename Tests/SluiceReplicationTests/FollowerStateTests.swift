import SluiceCore
import SluiceReplication
import Testing

@Suite struct FollowerStateTests {
    /// A local epoch cache as `LeaderEpochCache.endOffset` answers it.
    struct Epochs {
        var entries: [(epoch: LeaderEpoch, start: Offset)]
        var logEnd: Offset
        func endOffset(_ requested: LeaderEpoch) -> (epoch: LeaderEpoch, endOffset: Offset)? {
            guard let last = entries.last else { return nil }
            if requested == last.epoch { return (requested, logEnd) }
            guard let higher = entries.firstIndex(where: { $0.epoch > requested }) else { return nil }
            if higher == 0 { return (requested, entries[0].start) }
            return (entries[higher - 1].epoch, entries[higher].start)
        }
    }

    @Test func emptyLogFetchesFromItsEnd() {
        let (s, actions) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                               logEndOffset: 0, highWatermark: 0)
        #expect(actions == [.fetch(from: 0)])
        #expect(s.phase == .fetching)
    }

    @Test func sameEpochTruncatesToTheShorterEnd() {
        // Local: epoch 3 from 0, log end 12. Leader: epoch 3 ends at 10 (then epoch 4 began).
        let local = Epochs(entries: [(3, 0)], logEnd: 12)
        var (s, actions) = FollowerState.start(leader: 2, leaderEpoch: 4, latestLocalEpoch: 3, logStartOffset: 0,
                                               logEndOffset: 12, highWatermark: 8)
        #expect(actions == [.askEpochEndOffset(3)])
        let next = s.epochAnswered(.endOffset(epoch: 3, endOffset: 10), logStartOffset: 0, localEndOffset: local.endOffset)
        #expect(next == [.truncate(to: 10), .fetch(from: 10)])
        #expect(s.logEndOffset == 10 && s.highWatermark == 8)
    }

    @Test func noTruncationWhenTheLeaderHasMore() {
        let local = Epochs(entries: [(3, 0)], logEnd: 7)
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 4, latestLocalEpoch: 3, logStartOffset: 0,
                                         logEndOffset: 7, highWatermark: 7)
        #expect(s.epochAnswered(.endOffset(epoch: 3, endOffset: 10), logStartOffset: 0, localEndOffset: local.endOffset)
                == [.fetch(from: 7)])
    }

    @Test func anEpochTheLeaderNeverHadRepeatsTheHandshakeWithAnOlderOne() {
        // KIP-279: local epochs 1 (0..<5), 2 (5..<9), 4 (9..<14, written by a deposed leader).
        // The leader went 1 → 3: it answers epoch 1 ending at 5... for our 4 it answers (3, 12).
        let local = Epochs(entries: [(1, 0), (2, 5), (4, 9)], logEnd: 14)
        var (s, actions) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: 4, logStartOffset: 0,
                                               logEndOffset: 14, highWatermark: 5)
        #expect(actions == [.askEpochEndOffset(4)])
        // We have no epoch 3; our largest ≤ 3 is 2: ask for it.
        #expect(s.epochAnswered(.endOffset(epoch: 3, endOffset: 12), logStartOffset: 0, localEndOffset: local.endOffset)
                == [.askEpochEndOffset(2)])
        // The leader's largest ≤ 2 is 1, ending at 5; ours ends at 5 too.
        #expect(s.epochAnswered(.endOffset(epoch: 1, endOffset: 5), logStartOffset: 0, localEndOffset: local.endOffset)
                == [.truncate(to: 5), .fetch(from: 5)])
        #expect(s.handshakeRounds == 2)
    }

    @Test func leaderWithNoEpochThatOldEmptiesTheLog() {
        let local = Epochs(entries: [(1, 0)], logEnd: 4)
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: 1, logStartOffset: 0,
                                         logEndOffset: 4, highWatermark: 0)
        #expect(s.epochAnswered(.endOffset(epoch: .unknown, endOffset: .unknown), logStartOffset: 0, localEndOffset: local.endOffset)
                == [.truncate(to: 0), .fetch(from: 0)])
    }

    @Test func fetchesSetTheHWToTheLeadersBoundedByTheLogEnd() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                         logEndOffset: 0, highWatermark: 0)
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 10, leaderHighWatermark: 20), latestLocalEpoch: 5, logStartOffset: 0)
                == [.setHighWatermark(10)])
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 30, leaderHighWatermark: 20), latestLocalEpoch: 5, logStartOffset: 0)
                == [.setHighWatermark(20)])
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 30, leaderHighWatermark: 20), latestLocalEpoch: 5, logStartOffset: 0)
                .isEmpty)
    }

    @Test func theLogStartFollowsTheLeadersButNeverPassesTheFollowersHW() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                         logEndOffset: 0, highWatermark: 0)
        // DeleteRecords moved the leader's start to 15; this follower has only reached 10.
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 10, leaderHighWatermark: 20, leaderLogStartOffset: 15),
                                latestLocalEpoch: 5, logStartOffset: 0)
                == [.setHighWatermark(10), .advanceLogStart(to: 10)])
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 20, leaderHighWatermark: 20, leaderLogStartOffset: 15),
                                latestLocalEpoch: 5, logStartOffset: 10)
                == [.setHighWatermark(20), .advanceLogStart(to: 15)])
        // Already there, or a leader that did not say (-1): nothing to do.
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 20, leaderHighWatermark: 20, leaderLogStartOffset: 15),
                                latestLocalEpoch: 5, logStartOffset: 15).isEmpty)
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 20, leaderHighWatermark: 20), latestLocalEpoch: 5, logStartOffset: 15)
                .isEmpty)
    }

    @Test func outOfRangeBelowTheLeadersStartRestartsTheLogThere() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                         logEndOffset: 0, highWatermark: 0)
        #expect(s.fetchAnswered(.offsetOutOfRange(leaderLogStartOffset: 100), latestLocalEpoch: nil, logStartOffset: 0)
                == [.restartLog(at: 100), .fetch(from: 100)])
        #expect(s.logEndOffset == 100)
    }

    @Test func outOfRangePastTheLeadersEndRunsTheHandshakeAgain() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                         logEndOffset: 0, highWatermark: 0)
        _ = s.fetchAnswered(.appended(newLogEndOffset: 10, leaderHighWatermark: 5), latestLocalEpoch: 5, logStartOffset: 0)
        #expect(s.fetchAnswered(.offsetOutOfRange(leaderLogStartOffset: 0), latestLocalEpoch: 5, logStartOffset: 0)
                == [.stopFetching, .askEpochEndOffset(5)])
        #expect(s.phase == .awaitingEpochEndOffset(asked: 5))
    }

    @Test func fencedStopsUntilTheMetadataMovesOn() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: nil, logStartOffset: 0,
                                         logEndOffset: 0, highWatermark: 0)
        #expect(s.fetchAnswered(.fencedLeaderEpoch, latestLocalEpoch: nil, logStartOffset: 0) == [.stopFetching])
        #expect(s.phase == .fenced)
        #expect(s.fetchAnswered(.appended(newLogEndOffset: 3, leaderHighWatermark: 3), latestLocalEpoch: nil, logStartOffset: 0)
                .isEmpty)
    }

    @Test func unknownEpochAtTheLeaderBacksOffAndAsksAgain() {
        var (s, _) = FollowerState.start(leader: 2, leaderEpoch: 5, latestLocalEpoch: 4, logStartOffset: 0,
                                         logEndOffset: 3, highWatermark: 0)
        #expect(s.epochAnswered(.unknownLeaderEpoch, logStartOffset: 0, localEndOffset: { _ in nil })
                == [.backOff, .askEpochEndOffset(4)])
    }
}
