import SluiceCore
import Testing

@testable import SluiceRaft

@Suite("Raft elections")
struct ElectionTests {
    @Test func aCampaigningNodeBecomesLeaderAndEveryoneAppliesItsEntries() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        #expect(c[1].role == .leader)
        #expect(c[2].leader == 1 && c[3].leader == 1)
        try c.propose(1, "hello")
        for id: NodeID in [1, 2, 3] { #expect(c.appliedData(id) == ["hello"]) }
    }

    @Test func aFollowerRefusesProposalsAndNamesTheLeader() {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        #expect(throws: ProposalError.notLeader(knownLeader: 1)) { try c.propose(2, "x") }
    }

    @Test func electionTimeoutsAreRandomizedWithinOneToTwoElectionTimeouts() {
        var c = ScriptedCluster(voters: [1, 2, 3])
        var firstCampaignTick: [Int] = []
        for id: NodeID in [1, 2, 3] {
            var n = c.nodes[id]!
            var ticks = 0
            while n.role == .follower { n.tick(); ticks += 1 }
            firstCampaignTick.append(ticks)
            c.nodes[id] = n
        }
        for t in firstCampaignTick { #expect(t >= 10 && t < 20) }
        #expect(Set(firstCampaignTick).count > 1, "different seeds should give different timeouts")
    }

    @Test func aVoteIsInTheSameReadyAsTheHardStateThatRecordsIt() {
        let c = ScriptedCluster(voters: [1, 2, 3], options: { var o = RaftOptions(); o.preVote = false; return o }())
        var n2 = c.nodes[2]!
        n2.step(RaftMessage(from: 1, to: 2, term: 1, body: .vote(lastIndex: 0, lastTerm: 0, leadershipTransfer: false)))
        let ready = n2.ready()
        #expect(ready.messages == [RaftMessage(from: 2, to: 1, term: 1, body: .voteResponse(granted: true))])
        #expect(ready.hardState == HardState(term: 1, vote: 1, raftCommitIndex: 0))
    }

    @Test func aRestartedNodeRemembersItsVoteAndDoesNotVoteTwiceInATerm() {
        var o = RaftOptions()
        o.preVote = false
        var c = ScriptedCluster(voters: [1, 2, 3], options: o)
        c.isolate(3)
        c.campaign(1)
        #expect(c[2].vote == 1)
        c.start(2)  // restart from what it persisted
        var n2 = c.nodes[2]!
        n2.step(RaftMessage(from: 3, to: 2, term: c[1].term, body: .vote(lastIndex: 5, lastTerm: 5, leadershipTransfer: false)))
        #expect(n2.ready().messages.contains(RaftMessage(from: 2, to: 3, term: c[1].term, body: .voteResponse(granted: false))))
    }

    @Test func aSingleVoterCommitsOnlyAfterItPersistedItsOwnEntry() throws {
        var n = RaftNode(id: 1, configuration: RaftConfiguration(voters: [1]), random: SplitMix64(seed: 1))
        n.campaign()
        #expect(n.role == .leader)
        var ready = n.ready()
        #expect(n.raftCommitIndex == 0, "the leader-change entry is not persisted yet")
        n.advance(ready)
        #expect(n.raftCommitIndex == 1)
        _ = try n.propose([42])
        #expect(n.raftCommitIndex == 1)
        ready = n.ready()
        n.advance(ready)
        ready = n.ready()
        #expect(ready.committedEntries.map(\.data) == [[42]])
    }
}

@Suite("PreVote and CheckQuorum")
struct PreVoteCheckQuorumTests {
    @Test func aPartitionedLeaderStepsDownAndTheMajorityElectsANewOneItThenFollows() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        let oldTerm = c[1].term
        c.isolate(1)
        // Activity is judged per election timeout: the round in progress when the partition
        // began still counts what was heard before it, the next one finds nothing.
        c.tickAll(times: 9)
        #expect(c[1].role == .leader)
        c.tickAll(times: 11)
        #expect(c[1].role == .follower, "CheckQuorum: no quorum heard within an election timeout")
        c.tickAll(times: 40)
        let newLeader = try #require(c.leader)
        #expect(newLeader != 1 && c[newLeader].term > oldTerm)
        try c.propose(newLeader, "after failover")
        c.heal()
        c.tickAll(times: 3)
        #expect(c[1].leader == newLeader && c[1].role == .follower)
        #expect(c.appliedData(1) == ["after failover"])
        #expect(c.leader == newLeader)
    }

    @Test func aRejoiningPartitionedNodeWithPreVoteDoesNotBumpTheTermOrDisruptTheLeader() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        let term = c[1].term
        c.isolate(3)
        c.tickAll(times: 60)
        #expect(c[3].term == term, "pre-votes never change the term")
        #expect(c[3].role == .preCandidate || c[3].role == .follower)
        c.heal()
        c.tickAll(times: 5)
        #expect(c.leader == 1 && c[1].term == term)
        #expect(c[3].leader == 1)
        try c.propose(1, "still here")
        #expect(c.appliedData(3) == ["still here"])
    }

    @Test func withoutPreVoteTheSameRejoiningNodeDisruptsTheLeader() {
        var o = RaftOptions()
        o.preVote = false
        var c = ScriptedCluster(voters: [1, 2, 3], options: o)
        c.campaign(1)
        let term = c[1].term
        c.isolate(3)
        c.tickAll(times: 60)
        #expect(c[3].term > term)
        c.heal()
        c.tickAll(times: 5)
        #expect(c[1].term > term, "the stale candidate's higher term forced a new election")
    }

    @Test func followersWithALiveLeaderIgnoreVoteRequests() {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        var n2 = c.nodes[2]!
        let term = n2.term
        n2.step(RaftMessage(from: 3, to: 2, term: term.next, body: .vote(lastIndex: 100, lastTerm: 100, leadershipTransfer: false)))
        #expect(n2.term == term && n2.leader == 1)
        #expect(n2.ready().messages.isEmpty)
    }
}
