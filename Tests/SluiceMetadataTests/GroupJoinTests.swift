import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Group coordinator: JoinGroup and the join phase")
struct GroupJoinTests {
    @Test func v4JoinWithoutIDGetsMemberIDRequiredAndTheIDJoins() throws {
        var h = GroupHarness()
        let first = h.join(GroupHarness.joinInput(client: "app"))
        let required = try #require(h.joinReply(first))
        #expect(required.errorCode == .memberIDRequired)
        let suffix = required.memberID.dropFirst("app-".count)
        #expect(required.memberID.hasPrefix("app-") && suffix.count == 36 && suffix.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(h.records.isEmpty)
        let second = h.join(GroupHarness.joinInput(member: required.memberID, client: "app"))
        let joined = try #require(h.joinReply(second))
        #expect(joined.errorCode == KafkaErrorCode.none)
        #expect(joined.generationID == 1)
        #expect(joined.leaderID == required.memberID)
        #expect(joined.protocolName == "range")
        #expect(joined.members == [JoinGroupMember(memberID: required.memberID, groupInstanceID: nil, metadata: [1])])
        let state = try #require(h.records.last?.groupState)
        #expect(state.phase == .completingRebalance && state.generation == 1 && state.members.map(\.memberID) == [required.memberID])
        #expect(state.members[0].assignment == nil)
    }

    @Test func pendingMemberIDExpiresAfterItsSessionTimeout() throws {
        var h = GroupHarness()
        let required = h.joinNow(GroupHarness.joinInput(sessionMs: 5_000))
        let id = try #require(required).memberID
        h.advance(to: 4_999)
        h.advance(to: 5_000)
        let late = h.join(GroupHarness.joinInput(member: id, sessionMs: 5_000))
        #expect(h.joinReply(late)?.errorCode == .unknownMemberID)
        #expect(h.coordinator.listGroups().isEmpty, "a group nobody joined is forgotten without a record")
        #expect(h.records.isEmpty)
    }

    @Test func preV4JoinAddsTheMemberDirectly() throws {
        var h = GroupHarness()
        let t = h.join(GroupHarness.joinInput(client: "old", v4: false))
        let reply = try #require(h.joinReply(t))
        #expect(reply.errorCode == KafkaErrorCode.none && reply.generationID == 1 && reply.memberID.hasPrefix("old-"))
    }

    @Test func unknownMemberIDAndMismatchedProtocolsAreRefused() throws {
        var h = GroupHarness()
        #expect(h.joinNow(GroupHarness.joinInput(member: "ghost"))?.errorCode == .unknownMemberID)
        #expect(h.joinNow(GroupHarness.joinInput(type: ""))?.errorCode == .inconsistentGroupProtocol)
        _ = h.stableGroup(1)
        #expect(h.joinNow(GroupHarness.joinInput(type: "connect"))?.errorCode == .inconsistentGroupProtocol)
        #expect(h.joinNow(GroupHarness.joinInput(protocols: [("roundrobin", [])]))?.errorCode == .inconsistentGroupProtocol)
        #expect(h.joinNow(GroupHarness.joinInput(member: "ghost"))?.errorCode == .unknownMemberID)
        #expect(h.joinNow(GroupHarness.joinInput(group: ""))?.errorCode == .invalidGroupID)
    }

    @Test func sessionTimeoutMustLieWithinTheBounds() {
        var options = GroupHarness.options()
        options.minSessionTimeoutMs = 6_000
        options.maxSessionTimeoutMs = 60_000
        var h = GroupHarness(options: options)
        #expect(h.joinNow(GroupHarness.joinInput(sessionMs: 5_999))?.errorCode == .invalidSessionTimeout)
        #expect(h.joinNow(GroupHarness.joinInput(sessionMs: 60_001))?.errorCode == .invalidSessionTimeout)
        #expect(h.joinNow(GroupHarness.joinInput(sessionMs: 6_000))?.errorCode == .memberIDRequired)
    }

    @Test func protocolIsChosenByVoteAmongCommonOnes() throws {
        // A prefers range, B and C roundrobin; sticky is not supported by C.
        var h = GroupHarness()
        let prefs: [[(String, [UInt8])]] = [
            [("sticky", [0]), ("range", [1]), ("roundrobin", [2])],
            [("roundrobin", [2]), ("range", [1]), ("sticky", [0])],
            [("roundrobin", [2]), ("range", [1])],
        ]
        var inputs = prefs.enumerated().map { GroupHarness.joinInput(client: "c\($0.offset)", protocols: $0.element) }
        for i in inputs.indices { inputs[i].memberID = h.joinNow(inputs[i])!.memberID }
        let tokens = inputs.map { h.join($0) }
        #expect(h.joinReply(tokens[0])?.protocolName == "roundrobin")
        #expect(h.joinReply(tokens[0])?.members.map(\.metadata) == [[2], [2], [2]])
        #expect(h.joinReply(tokens[1])?.members == [], "followers get no member list")
    }

    @Test func tiedVoteGoesToTheFirstMembersPreference() throws {
        var h = GroupHarness()
        var a = GroupHarness.joinInput(client: "a", protocols: [("range", []), ("roundrobin", [])])
        var b = GroupHarness.joinInput(client: "b", protocols: [("roundrobin", []), ("range", [])])
        a.memberID = h.joinNow(a)!.memberID
        b.memberID = h.joinNow(b)!.memberID
        let t = h.join(a)
        h.join(b)
        #expect(h.joinReply(t)?.protocolName == "range")
    }

    @Test func joinPhaseCompletesWhenAllKnownMembersRejoin() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2)
        let gen = try #require(h.groupState?.generation)
        h.nowMs = 100
        let t0 = h.join(GroupHarness.joinInput(member: ids[0], client: "c0"))  // the leader rejoins: rebalance
        #expect(h.joinReply(t0) == nil, "parked until the other member rejoins")
        #expect(h.heartbeat(ids[1], generation: gen) == .rebalanceInProgress)
        let t1 = h.join(GroupHarness.joinInput(member: ids[1], client: "c1"))
        #expect(h.joinReply(t0)?.generationID == gen.next && h.joinReply(t1)?.generationID == gen.next)
        #expect(h.joinReply(t0)?.leaderID == ids[0], "the old leader stays leader")
        #expect(h.groupState?.generation == gen.next && h.groupState?.phase == .completingRebalance)
    }

    @Test func joinPhaseEndsAtTheRebalanceTimeoutDroppingMembersThatDidNotRejoin() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(3, sessionMs: 60_000)
        let gen = try #require(h.groupState?.generation)
        h.nowMs = 1_000
        // New metadata from a follower starts a join phase.
        let t = h.join(GroupHarness.joinInput(member: ids[1], client: "c1", protocols: [("range", [2])], rebalanceMs: 20_000))
        h.advance(to: 20_999)
        #expect(h.joinReply(t) == nil)
        h.advance(to: 21_000)  // the rebalance timeout: max over members (20 s) from 1 s
        let reply = try #require(h.joinReply(t))
        #expect(reply.generationID == gen.next)
        #expect(reply.leaderID == ids[1], "the old leader is gone: the first remaining member leads")
        #expect(reply.members == [JoinGroupMember(memberID: ids[1], groupInstanceID: nil, metadata: [2])])
        #expect(h.groupState?.members.map(\.memberID) == [ids[1]])
        #expect(h.heartbeat(ids[0], generation: gen) == .unknownMemberID)
    }

    @Test func initialDelayIsExtendedWhileMembersArriveUpToTheRebalanceTimeout() throws {
        var h = GroupHarness(options: GroupHarness.options(delayMs: 300))
        let a = h.join(GroupHarness.joinInput(client: "a", rebalanceMs: 1_000, v4: false))
        h.advance(to: 200)
        let b = h.join(GroupHarness.joinInput(client: "b", rebalanceMs: 1_000, v4: false))
        h.advance(to: 299)
        #expect(h.joinReply(a) == nil)
        h.advance(to: 300)  // a new member arrived: the delay is extended to 600
        #expect(h.joinReply(a) == nil)
        h.advance(to: 599)
        #expect(h.joinReply(a) == nil)
        h.advance(to: 600)
        #expect(h.joinReply(a)?.generationID == 1 && h.joinReply(b)?.generationID == 1)
        #expect(h.joinReply(a)?.members.count == 2)

        var k = GroupHarness(options: GroupHarness.options(delayMs: 300))
        let first = k.join(GroupHarness.joinInput(group: "k", client: "m0", rebalanceMs: 1_000, v4: false))
        for step in 1...5 {
            k.nowMs = Int64(step) * 250 - 10
            k.join(GroupHarness.joinInput(group: "k", client: "m\(step)", rebalanceMs: 1_000, v4: false))
            k.advance(to: Int64(step) * 250)
            if k.joinReply(first) != nil { break }
        }
        // 300 + 300 + 300 + 100: the delay never runs past the rebalance timeout.
        #expect(k.joinReply(first)?.generationID == 1)
        #expect(k.nowMs == 1_000)
    }

    @Test func newMemberDuringCompletingRebalanceRestartsTheJoinPhase() throws {
        var h = GroupHarness()
        var a = GroupHarness.joinInput(client: "a")
        a.memberID = h.joinNow(a)!.memberID
        let ta = h.join(a)
        let gen = try #require(h.joinReply(ta)?.generationID)
        let parked = h.sync(a.memberID, generation: gen)  // a single-member group: the leader completes its own sync
        #expect(h.syncReply(parked)?.errorCode == KafkaErrorCode.none)
        var b = GroupHarness.joinInput(client: "b")
        b.memberID = h.joinNow(b)!.memberID
        let tb = h.join(b)
        #expect(h.heartbeat(a.memberID, generation: gen) == .rebalanceInProgress)
        let ta2 = h.join(a)
        #expect(h.joinReply(ta2)?.generationID == gen.next && h.joinReply(tb)?.generationID == gen.next)
        // A follower parked in SyncGroup when another member joins gets REBALANCE_IN_PROGRESS.
        let leader = h.joinReply(ta2)!.leaderID
        let follower = leader == a.memberID ? b.memberID : a.memberID
        let ts = h.sync(follower, generation: gen.next)
        #expect(h.syncReply(ts) == nil)
        var c = GroupHarness.joinInput(client: "c", v4: false)
        c.memberID = ""
        h.join(c)
        #expect(h.syncReply(ts)?.errorCode == .rebalanceInProgress)
    }

    @Test func groupMaxSizeCountsMembersAndPendingIDs() {
        var options = GroupHarness.options()
        options.maxGroupSize = 2
        var h = GroupHarness(options: options)
        #expect(h.joinNow(GroupHarness.joinInput(client: "a"))?.errorCode == .memberIDRequired)
        #expect(h.joinNow(GroupHarness.joinInput(client: "b"))?.errorCode == .memberIDRequired)
        #expect(h.joinNow(GroupHarness.joinInput(client: "c"))?.errorCode == .groupMaxSizeReached)
    }

    @Test func unchangedFollowerRejoinInStableGetsTheCurrentGenerationWithoutRebalance() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2)
        let gen = try #require(h.groupState?.generation)
        let before = h.records.count
        let t = h.join(GroupHarness.joinInput(member: ids[1], client: "c1"))
        #expect(h.joinReply(t)?.generationID == gen && h.joinReply(t)?.errorCode == KafkaErrorCode.none)
        #expect(h.records.count == before)
        #expect(h.heartbeat(ids[0], generation: gen) == KafkaErrorCode.none)
        let changed = h.join(GroupHarness.joinInput(member: ids[1], client: "c1", protocols: [("range", [9])]))
        #expect(h.joinReply(changed) == nil, "changed metadata rebalances")
        #expect(h.heartbeat(ids[0], generation: gen) == .rebalanceInProgress)
    }
}
