import SluiceCore
import Testing

@testable import SluiceRaft

@Suite("Raft log replication")
struct ReplicationTests {
    /// Raft paper Figure 7: the leader of term 8 and six followers whose logs miss, add or
    /// conflict with entries.
    static let figure7Leader: [UInt64] = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    static let figure7Followers: [(String, [UInt64])] = [
        ("a", [1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", [1, 1, 1, 4]),
        ("c", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", [1, 1, 1, 4, 4, 4, 4]),
        ("f", [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ]

    @Test(arguments: figure7Followers.map(\.0))
    func theLeaderBringsEachFigure7FollowerIntoAgreement(_ name: String) throws {
        let follower = try #require(Self.figure7Followers.first { $0.0 == name }).1
        var c = ScriptedCluster(voters: [1, 2, 3], preset: [
            1: persistedLog(terms: Self.figure7Leader, term: 8),
            2: persistedLog(terms: follower, term: follower.last!),
        ])
        c.campaign(1)
        #expect(c[1].role == .leader)
        let rejections = c.delivered.filter { if case .appendRejected = $0.body { $0.from == 2 } else { false } }.count
        #expect(c.logTerms(2) == c.logTerms(1))
        #expect(c.logTerms(1) == Self.figure7Leader.map { RaftTerm($0) } + [c[1].term])
        #expect(c[2].raftCommitIndex == c[1].lastIndex)
        // The conflict hint skips whole terms: at most one rejection per conflicting term.
        #expect(rejections <= 3, "\(rejections) rejections for follower \(name)")
    }

    @Test func aLeaderDoesNotCommitAnOlderTermEntryByCountingReplicas() throws {
        // Figure 8: entry 2@2 sits on a majority (n1, n2, n3) but n5 holds 2@3 and can
        // still win an election and overwrite it.
        var o = RaftOptions()
        o.preVote = false
        o.checkQuorum = false
        var c = ScriptedCluster(voters: [1, 2, 3, 4, 5], options: o, preset: [
            1: persistedLog(terms: [1, 2], term: 4),
            2: persistedLog(terms: [1, 2], term: 4),
            3: persistedLog(terms: [1, 2], term: 4),
            4: persistedLog(terms: [1], term: 4),
            5: persistedLog(terms: [1, 3], term: 4),
        ])
        c.dropRule = { $0.from == 1 && $0.isAppend }
        c.campaign(1)
        #expect(c[1].role == .leader && c[1].term == 5)
        for peer: NodeID in [2, 3] {
            c.nodes[1]!.step(RaftMessage(from: peer, to: 1, term: 5, body: .appendAccepted(matchIndex: 2)))
        }
        #expect(c[1].matchIndex(of: 2) == 2 && c[1].matchIndex(of: 3) == 2)
        #expect(c[1].raftCommitIndex == 0, "2@2 is on a majority but is not from the current term")
        // n1 fails; n5 wins (its log ends in term 3 > 2) and overwrites index 2.
        c.isolate(1)
        c.queue.removeAll()
        c.campaign(5)  // term 5: everyone already voted for n1
        c.campaign(5)  // term 6
        #expect(c[5].role == .leader)
        c.tickAll(times: 2, except: [1])
        for id: NodeID in [2, 3, 4, 5] { #expect(c[id].term(at: 2) == 3) }
        c.heal()
        c.tickAll(times: 3)
        #expect(c[1].term(at: 2) == 3)
        for id: NodeID in [1, 2, 3, 4, 5] { #expect(!c.applied[id]!.contains { $0.index == 2 && $0.term == 2 }) }
    }

    @Test func theInFlightWindowBoundsAppendsToAnUnresponsiveFollower() throws {
        var o = RaftOptions()
        o.entriesPerAppendMax = 1
        o.inflightAppendsMax = 4
        var c = ScriptedCluster(voters: [1, 2, 3], options: o)
        c.campaign(1)
        try c.propose(1, "warm-up")
        c.dropRule = { $0.from == 2 }  // n2 receives but never answers
        let before = c.delivered.count
        for k in 0..<20 { try c.propose(1, "p\(k)") }
        let appendsToN2 = c.delivered[before...].filter {
            if case .append(_, _, let entries, _) = $0.body { $0.to == 2 && !entries.isEmpty } else { false }
        }.count
        #expect(appendsToN2 == 4)
        #expect(c.appliedData(1).count == 21, "the quorum n1+n3 still commits")
    }

    @Test func aProposalBeyondTheUncommittedLimitIsRefused() throws {
        var o = RaftOptions()
        o.uncommittedEntriesMax = 3
        var c = ScriptedCluster(voters: [1, 2, 3], options: o)
        c.campaign(1)
        c.isolate(1)
        try c.propose(1, "a")
        try c.propose(1, "b")
        try c.propose(1, "c")
        #expect(throws: ProposalError.tooManyUncommittedEntries(limit: 3)) { try c.propose(1, "d") }
    }
}

@Suite("Ready and advance")
struct ReadyAdvanceTests {
    @Test func entriesReplacedBetweenReadyAndAdvanceComeBackInTheNextReady() {
        var n = RaftNode(id: 2, configuration: RaftConfiguration(voters: [1, 2, 3]), random: SplitMix64(seed: 9))
        let old = [RaftEntry(term: 1, index: 1), RaftEntry(term: 1, index: 2)]
        n.step(RaftMessage(from: 1, to: 2, term: 1, body: .append(prevIndex: 0, prevTerm: 0, entries: old, leaderCommit: 0)))
        let first = n.ready()
        #expect(first.entries == old)
        // While that Ready is being persisted, a new leader overwrites index 2.
        let replacement = RaftEntry(term: 2, index: 2)
        n.step(RaftMessage(from: 3, to: 2, term: 2, body: .append(prevIndex: 1, prevTerm: 1, entries: [replacement], leaderCommit: 0)))
        #expect(!n.hasReady, "no second Ready before advance")
        n.advance(first)
        let second = n.ready()
        #expect(second.entries.last == replacement, "the replaced entry is not treated as persisted")
        #expect(second.messages.contains(RaftMessage(from: 2, to: 3, term: 2, body: .appendAccepted(matchIndex: 2))))
        n.advance(second)
        #expect(!n.hasReady)
    }

    @Test func committedEntriesAreHandedOutOnceAndInOrder() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        for k in 0..<10 { try c.propose(1, "p\(k)") }
        for id: NodeID in [1, 2, 3] {
            #expect(c.applied[id]!.map(\.index.rawValue) == Array(1...11))
            #expect(c[id].appliedIndex == 11)
        }
    }
}

@Suite("Append flow control")
struct AppendFlowControlTests {
    @Test func aRejectionOvertakenByALaterAcknowledgementDoesNotRestartThePipeline() throws {
        var c = ScriptedCluster(voters: [1, 2, 3])
        c.campaign(1)
        for k in 0..<3 { try c.propose(1, "p\(k)") }
        var leader = c.nodes[1]!
        let match = try #require(leader.matchIndex(of: 2))
        #expect(leader.progress[2]!.state == .replicate)
        // A rejection the follower sent when its log ended below what it has acknowledged since.
        leader.step(RaftMessage(from: 2, to: 1, term: leader.term,
                                body: .appendRejected(rejectedIndex: match.next, hintIndex: match.previous, hintTerm: leader.term)))
        #expect(leader.progress[2]!.state == .replicate)
        #expect(!leader.hasReady, "nothing is resent")
        // A fresh rejection (hint at the match) does send the leader back to probing.
        leader.step(RaftMessage(from: 2, to: 1, term: leader.term,
                                body: .appendRejected(rejectedIndex: match.next, hintIndex: match, hintTerm: leader.term)))
        #expect(leader.progress[2]!.state == .probe)
        #expect(leader.ready().messages.contains { $0.to == 2 && $0.isAppend })
    }
}
