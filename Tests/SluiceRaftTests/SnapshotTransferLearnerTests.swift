import SluiceCore
import Testing

@testable import SluiceRaft

@Suite("Snapshots, leadership transfer and learners")
struct SnapshotTransferLearnerTests {
    @Test func aLaggingFollowerIsSentTheSnapshotAndThenTheRestOfTheLog() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.isolate(3)
        for k in 0..<20 { try c.propose(1, "p\(k)") }
        let applied = c[1].appliedIndex
        let compacted = c.nodes[1]!.compact(through: applied, snapshotData: Array("state@\(applied)".utf8))
        let s = try #require(compacted)
        #expect(c[1].firstIndex == applied.next)
        try c.propose(1, "after snapshot")
        c.heal()
        c.tickAll(times: 3)
        #expect(c.delivered.contains { $0.to == 3 && $0.body == .installSnapshot(s) })
        #expect(c.restoredSnapshots[3] == [s])
        #expect(c[3].firstIndex == s.index.next)
        #expect(c.appliedData(3) == ["after snapshot"], "entries after the snapshot are applied normally")
        #expect(c[3].lastIndex == c[1].lastIndex && c[3].raftCommitIndex == c[1].raftCommitIndex)
    }

    @Test func compactingRequiresAppliedEntriesAndIgnoresOldIndexes() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.propose(1, "a")
        #expect(c.nodes[1]!.compact(through: 2, snapshotData: []) != nil)
        #expect(c.nodes[1]!.compact(through: 1, snapshotData: []) == nil)
    }

    @Test func leadershipTransfersToAnUpToDateVoter() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.transferLeadership(to: 2)
        c.stabilize()
        #expect(c.leader == 2 && c[1].role == .follower && c[1].leader == 2)
    }

    @Test func leadershipTransferFirstCatchesUpALaggingTargetAndRefusesProposalsMeanwhile() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.isolate(3)
        for k in 0..<5 { try c.propose(1, "p\(k)") }
        c.heal()
        try c.nodes[1]!.transferLeadership(to: 3)
        #expect(throws: ProposalError.leadershipTransferInProgress(transferee: 3)) { try c.propose(1, "x") }
        c.stabilize()
        #expect(c.leader == 3)
        #expect(c.appliedData(3) == (0..<5).map { "p\($0)" })
    }

    @Test func leadershipCannotBeTransferredToALearner() {
        var c = ScriptedCluster(voters: [1, 2, 3], learners: [4])
        c.campaign(1)
        #expect(throws: TransferError.notAVoter(4)) { try c.nodes[1]!.transferLeadership(to: 4) }
    }

    @Test func aLearnerReplicatesAndAppliesButNeverVotesOrCampaigns() throws {
        var c = ScriptedCluster(voters: [1, 2, 3], learners: [4])
        c.campaign(1)
        try c.propose(1, "x")
        #expect(c.appliedData(4) == ["x"])
        #expect(!c.delivered.contains { $0.to == 4 && $0.isVoteRequest })
        c.isolate(4)
        c.tickAll(times: 100)
        #expect(c[4].role == .follower && c[4].term == c[1].term, "a learner never campaigns")
    }

    @Test func aLearnerDoesNotCountTowardTheCommitQuorum() throws {
        var c = ScriptedCluster(voters: [1, 2, 3], learners: [4])
        c.campaign(1)
        c.dropRule = { [2, 3].contains($0.to) }
        let (index, _) = try c.propose(1, "needs a voter")
        #expect(c[4].lastIndex == index, "the learner has the entry")
        #expect(c[1].raftCommitIndex < index, "leader + learner is not a quorum of 3 voters")
        c.heal()
        c.tickAll(times: 2)
        #expect(c[1].raftCommitIndex >= index)
    }
}
