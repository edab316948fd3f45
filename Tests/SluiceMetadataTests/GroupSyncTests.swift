import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Group coordinator: SyncGroup, Heartbeat, LeaveGroup, session expiry")
struct GroupSyncTests {
    /// Three members through the join phase, no SyncGroup yet.
    static func completing(_ h: inout GroupHarness, sessionMs: Int32 = 10_000) -> (ids: [String], generation: GenerationID) {
        var inputs = (0..<3).map { GroupHarness.joinInput(client: "c\($0)", sessionMs: sessionMs) }
        for i in inputs.indices { inputs[i].memberID = h.joinNow(inputs[i])!.memberID }
        let tokens = inputs.map { h.join($0) }
        return (inputs.map(\.memberID), h.joinReply(tokens[0])!.generationID)
    }

    @Test func followersParkUntilTheLeadersSyncWhichRecordsAndAnswersEveryone() throws {
        var h = GroupHarness()
        let (ids, gen) = Self.completing(&h)
        #expect(h.heartbeat(ids[1], generation: gen) == KafkaErrorCode.none, "heartbeats are fine while completing")
        let f1 = h.sync(ids[1], generation: gen)
        let f2 = h.sync(ids[2], generation: gen)
        #expect(h.syncReply(f1) == nil && h.syncReply(f2) == nil)
        let before = h.records.count
        let leader = h.sync(ids[0], generation: gen, assignments: [ids[0]: [0], ids[1]: [1], "stranger": [7]])
        #expect(h.records.count == before + 1)
        let state = try #require(h.records.last?.groupState)
        #expect(state.phase == .stable && state.generation == gen)
        #expect(state.members.map(\.assignment) == [[0], [1], []], "left-out members get empty bytes")
        #expect(h.syncReply(leader)?.assignment == [0])
        #expect(h.syncReply(f1)?.assignment == [1] && h.syncReply(f1)?.protocolName == "range")
        #expect(h.syncReply(f2)?.assignment == [] && h.syncReply(f2)?.errorCode == KafkaErrorCode.none)
        let again = h.sync(ids[1], generation: gen)
        #expect(h.syncReply(again)?.assignment == [1], "a Stable group returns the stored assignment")
        #expect(h.coordinator.describeGroup("g").state == "Stable")
    }

    @Test func syncIsValidatedAgainstMemberGenerationAndState() throws {
        var h = GroupHarness()
        let (ids, gen) = Self.completing(&h)
        #expect(h.syncNow("ghost", generation: gen)?.errorCode == .unknownMemberID)
        #expect(h.syncNow(ids[1], generation: gen.next)?.errorCode == .illegalGeneration)
        #expect(h.syncNow(ids[1], generation: gen, group: "nope")?.errorCode == .unknownMemberID)
        h.join(GroupHarness.joinInput(member: ids[1], client: "c1", protocols: [("range", [5])]))  // rebalance
        #expect(h.coordinator.describeGroup("g").state == "PreparingRebalance")
        #expect(h.syncNow(ids[2], generation: gen)?.errorCode == .rebalanceInProgress)
    }

    @Test func heartbeatAnswersPerState() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2)
        let gen = try #require(h.groupState?.generation)
        #expect(h.heartbeat(ids[1], generation: gen) == KafkaErrorCode.none)
        #expect(h.heartbeat(ids[1], generation: gen.next) == .illegalGeneration)
        #expect(h.heartbeat("ghost", generation: gen) == .unknownMemberID)
        #expect(h.heartbeat(ids[1], generation: gen, group: "other") == .unknownMemberID)
        #expect(h.heartbeat(ids[1], generation: gen, group: "") == .invalidGroupID)
        _ = h.leave([LeaveGroupMember(memberID: ids[0])])
        #expect(h.heartbeat(ids[1], generation: gen) == .rebalanceInProgress)
    }

    @Test func heartbeatsKeepAMemberAliveAndSilenceExpiresItAtItsSessionTimeout() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2, sessionMs: 10_000)
        let gen = try #require(h.groupState?.generation)
        let start = h.nowMs
        for t in stride(from: start + 3_000, through: start + 30_000, by: 3_000) {
            h.advance(to: t)
            #expect(h.heartbeat(ids[0], generation: gen) == KafkaErrorCode.none || t >= start + 10_000)
        }
        // ids[1] never heartbeated: it expired at start + 10 s and the group rebalanced.
        #expect(h.coordinator.describeGroup("g").members.map(\.memberID) == [ids[0]])
        let members = h.coordinator.describeGroup("g")
        #expect(members.state == "PreparingRebalance")
        #expect(h.heartbeat(ids[1], generation: gen) == .unknownMemberID)
    }

    @Test func lastMemberLeavingMakesTheGroupEmptyWithARecord() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(1)
        let gen = try #require(h.groupState?.generation)
        let left = h.leave([LeaveGroupMember(memberID: ids[0])])
        let outcome = try #require(left)
        #expect(outcome.errorCode == KafkaErrorCode.none && outcome.members.map(\.errorCode) == [.none])
        let state = try #require(h.records.last?.groupState)
        #expect(state.phase == .empty && state.members.isEmpty && state.generation == gen.next)
        #expect(h.coordinator.describeGroup("g").state == "Empty")
        #expect(h.coordinator.listGroups() == [GroupListing(groupID: "g", protocolType: "consumer", state: "Empty")])
    }

    @Test func batchedLeaveReportsEachMember() throws {
        var h = GroupHarness()
        var s = GroupHarness.joinInput(instance: "static-1", client: "s")
        let ts = h.join(s)  // a static member joins without MEMBER_ID_REQUIRED
        s.memberID = try #require(h.joinReply(ts)?.memberID)
        #expect(h.joinReply(ts)?.errorCode == KafkaErrorCode.none)
        let (d, td) = h.joinNew(GroupHarness.joinInput(client: "d"))
        h.join(s)
        #expect(h.joinReply(td)?.errorCode == KafkaErrorCode.none)
        let left = h.leave([
                LeaveGroupMember(memberID: "wrong-id", groupInstanceID: "static-1"),
                LeaveGroupMember(memberID: "", groupInstanceID: "nobody"),
                LeaveGroupMember(memberID: "ghost"),
                LeaveGroupMember(memberID: "", groupInstanceID: "static-1"),
                LeaveGroupMember(memberID: d),
            ])
        let outcome = try #require(left)
        #expect(outcome.members.map(\.errorCode) == [.fencedInstanceID, .unknownMemberID, .unknownMemberID, .none, .none])
        #expect(h.groupState?.phase == .empty)
        #expect(h.leave([LeaveGroupMember(memberID: "x")], group: "missing")?.members.map(\.errorCode) == [.unknownMemberID])
    }

    @Test func membersThatDoNotSyncAreRemovedAfterTheRebalanceTimeout() throws {
        var h = GroupHarness()
        let (ids, gen) = Self.completing(&h, sessionMs: 30_000)  // sessions outlast the 20 s sync timeout
        let parked = h.sync(ids[1], generation: gen)
        h.advance(to: h.nowMs + 19_999)
        #expect(h.syncReply(parked) == nil)
        h.advance(to: h.nowMs + 1)
        #expect(h.syncReply(parked)?.errorCode == .rebalanceInProgress)
        #expect(h.coordinator.describeGroup("g").members.map(\.memberID) == [ids[1]])
    }
}
