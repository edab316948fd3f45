import SluiceCore
@testable import SluiceSimulation
import Testing

/// The replication checker's rules on hand-made histories, including the ones no injected
/// bug reaches (two appenders in one epoch, the loss excuse).
@Suite struct ReplicationSimulationCheckerTests {
    func batch(_ base: Int64, _ last: Int64, epoch: Int32 = 0, crc: UInt32 = 1) -> BatchID {
        BatchID(baseOffset: Offset(base), lastOffset: Offset(last), leaderEpoch: LeaderEpoch(epoch), crc: crc)
    }

    func checker(flushAlways: Bool = false) -> ReplicationSimulationChecker {
        ReplicationSimulationChecker(partitionCount: 1, minInsyncReplicas: 2, excusesLossyCrashes: !flushAlways)
    }

    @Test func twoBrokersAppendingAsLeaderInOneEpochIsAViolation() {
        var c = checker()
        #expect(c.appendedAsLeader(0, 1, epoch: 3) == nil)
        #expect(c.appendedAsLeader(0, 1, epoch: 3) == nil, "the same leader appends again")
        #expect(c.appendedAsLeader(0, 2, epoch: 4) == nil)
        #expect(c.appendedAsLeader(0, 2, epoch: 3)?.contains("both appended as leader in epoch 3") == true)
    }

    @Test func replicasDisagreeingBelowTheirHighWatermarksIsAViolation() {
        var c = checker()
        var checked = 0
        #expect(c.coverBelowHighWatermark(0, 1, batches: [batch(0, 2), batch(3, 4)], highWatermark: 5, checked: &checked, nowMs: 1) == nil)
        #expect(checked == 2)
        var other = 0
        #expect(c.coverBelowHighWatermark(0, 2, batches: [batch(0, 2)], highWatermark: 3, checked: &other, nowMs: 2) == nil)
        var diverged = 0
        let v = c.coverBelowHighWatermark(0, 3, batches: [batch(0, 2), batch(3, 4, crc: 9)], highWatermark: 5, checked: &diverged, nowMs: 3)
        #expect(v?.contains("below its HW") == true)
    }

    @Test func aLeaderWithoutTheCommittedLogIsAViolationUnlessEnoughReplicasLostBytes() {
        var c = checker()
        var checked = 0
        _ = c.coverBelowHighWatermark(0, 1, batches: [batch(0, 2), batch(3, 4)], highWatermark: 5, checked: &checked, nowMs: 10)
        #expect(c.leaderElected(0, 2, epoch: 1, batches: [batch(0, 2)], nowMs: 20)?.contains("without the committed batch") == true)
        c.lossyCrash(0, 2, nowMs: 15)
        #expect(c.leaderElected(0, 2, epoch: 1, batches: [batch(0, 2)], nowMs: 20) != nil, "one replica's loss is not excused")
        c.lossyCrash(0, 3, nowMs: 16)
        #expect(c.leaderElected(0, 2, epoch: 1, batches: [batch(0, 2)], nowMs: 20) == nil, "min.insync.replicas replicas lost bytes")
        #expect(c.committed[0].count == 1, "the committed log continues from the new leader's")
    }

    @Test func withFlushAlwaysNoLossIsExcused() {
        var c = checker(flushAlways: true)
        var checked = 0
        _ = c.coverBelowHighWatermark(0, 1, batches: [batch(0, 2)], highWatermark: 3, checked: &checked, nowMs: 10)
        for node: NodeID in [1, 2, 3] { c.lossyCrash(0, node, nowMs: 11) }
        #expect(c.leaderElected(0, 2, epoch: 1, batches: [], nowMs: 20) != nil)
        #expect(c.truncated(0, 3, removed: [batch(0, 2)], firstIndex: 0, nowMs: 20)?.contains("truncates the committed batch") == true)
    }

    @Test func aServedOrAcknowledgedBatchMustBeTheCommittedOneAndSurvive() {
        var c = checker()
        var checked = 0
        _ = c.coverBelowHighWatermark(0, 1, batches: [batch(0, 2), batch(3, 4)], highWatermark: 5, checked: &checked, nowMs: 10)
        #expect(c.served(0, batch(3, 4), nowMs: 11) == nil)
        #expect(c.served(0, batch(3, 4, crc: 7), nowMs: 12)?.contains("was served") == true)
        c.acknowledged(0, batch(3, 4), nowMs: 13)
        #expect(c.finalCheck(0, batches: [batch(0, 2)], nowMs: 30)?.contains("not in the converged log") == true)
        #expect(c.finalCheck(0, batches: [batch(0, 2), batch(3, 4)], nowMs: 30)?.contains("served") == true, "the crc-7 batch was served too")
    }
}
