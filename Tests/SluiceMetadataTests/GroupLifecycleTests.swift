import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Group coordinator: static members, offset commits, retention, rebuild")
struct GroupLifecycleTests {
    @Test func staticMemberRestartTakesANewIDKeepsTheGenerationAndFencesTheOldID() throws {
        var h = GroupHarness()
        var s = GroupHarness.joinInput(instance: "pod-0", client: "s")
        let required = h.joinNow(s)
        s.memberID = try #require(required?.memberID)
        let (d, td) = h.joinNew(GroupHarness.joinInput(client: "d"))
        let ts = h.join(s)
        let gen = try #require(h.joinReply(ts)?.generationID)
        #expect(h.joinReply(td)?.generationID == gen)
        let leader = h.joinReply(ts)!.leaderID
        h.sync(leader == d ? s.memberID : d, generation: gen, instance: leader == d ? "pod-0" : nil)
        h.sync(leader, generation: gen, instance: leader == d ? nil : "pod-0", assignments: [s.memberID: [5], d: [6]])
        #expect(h.groupState?.phase == .stable)

        var restarted = s
        restarted.memberID = ""
        let tr = h.join(restarted)
        let reply = try #require(h.joinReply(tr))
        #expect(reply.errorCode == KafkaErrorCode.none && reply.generationID == gen)
        #expect(reply.memberID != s.memberID && reply.memberID.hasPrefix("s-"))
        let state = try #require(h.records.last?.groupState)
        #expect(state.generation == gen && state.phase == .stable)
        #expect(state.members.first { $0.groupInstanceID == "pod-0" }?.memberID == reply.memberID)
        #expect(state.members.first { $0.groupInstanceID == "pod-0" }?.assignment == [5], "the assignment is kept")
        let newSync = h.sync(reply.memberID, generation: gen, instance: "pod-0")
        #expect(h.syncReply(newSync)?.assignment == [5])
        #expect(h.heartbeat(s.memberID, generation: gen, instance: "pod-0") == .fencedInstanceID)
        #expect(h.heartbeat(s.memberID, generation: gen) == .unknownMemberID)
        #expect(h.commit(s.memberID, generation: gen, instance: "pod-0") == [.fencedInstanceID])
        #expect(h.joinNow(s)?.errorCode == .fencedInstanceID)
        #expect(h.heartbeat(d, generation: gen) == KafkaErrorCode.none, "no rebalance for the others")
    }

    @Test func offsetCommitIsValidatedAsKafkaDoes() throws {
        var h = GroupHarness()
        #expect(h.commit("m", generation: 1, group: "nothing") == [.illegalGeneration])
        #expect(h.commit("", generation: .none, group: "simple") == [.none])
        #expect(h.image.groups["simple"]?.offsets[TopicPartition(Fixture.topic("t"), 0)]?.offset == 10)
        #expect(h.image.groups["simple"]?.state.generation == 0)

        let (ids, gen) = GroupSyncTests.completing(&h)
        #expect(h.commit(ids[1], generation: gen) == [.rebalanceInProgress], "completing: members must sync first")
        #expect(h.commit("", generation: .none) == [.unknownMemberID], "simple commits need an empty group")
        #expect(h.commit("ghost", generation: gen) == [.unknownMemberID])
        #expect(h.commit(ids[1], generation: gen.next) == [.illegalGeneration])
        h.sync(ids[0], generation: gen, assignments: [:])
        let longMetadata = String(repeating: "x", count: 4_097)
        let codes = h.commit(
            ids[1], generation: gen,
            partitions: [
                OffsetCommitPartition(topic: "t", partition: 1, offset: 42, leaderEpoch: 3, metadata: "ok"),
                OffsetCommitPartition(topic: "bad/name", partition: 0, offset: 1),
                OffsetCommitPartition(topic: "t", partition: -1, offset: 1),
                OffsetCommitPartition(topic: "t", partition: 2, offset: 1, metadata: longMetadata),
            ])
        #expect(codes == [.none, .unknownTopicOrPartition, .unknownTopicOrPartition, .offsetMetadataTooLarge])
        #expect(
            h.image.groups["g"]?.offsets[TopicPartition(Fixture.topic("t"), 1)]
                == CommittedOffset(offset: 42, leaderEpoch: 3, metadata: "ok", commitWallMs: h.wallMs))
        #expect(h.image.groups["g"]?.offsets.count == 1)
        // While a join phase runs, members of the current generation may still commit.
        _ = h.leave([LeaveGroupMember(memberID: ids[2])])
        #expect(h.coordinator.describeGroup("g").state == "PreparingRebalance")
        #expect(h.commit(ids[1], generation: gen) == [.none])
        #expect(h.commit(ids[2], generation: gen) == [.unknownMemberID], "a member that left cannot commit")
    }

    @Test func emptyGroupIsRemovedAfterOffsetsRetentionCountedFromItsLastChange() throws {
        var options = GroupHarness.options()
        options.offsetsRetentionMs = 60_000
        var h = GroupHarness(options: options)
        let ids = h.stableGroup(1)
        let gen = try #require(h.groupState?.generation)
        #expect(h.commit(ids[0], generation: gen) == [.none])
        h.nowMs = 1_000
        _ = h.leave([LeaveGroupMember(memberID: ids[0])])  // empty from wall 1_001_000
        h.nowMs = 30_000
        #expect(h.commit("", generation: .none) == [.none])  // a simple commit: retention restarts
        #expect(h.coordinator.nextDeadlineMs == 90_000)
        #expect(h.advance(to: 89_999).isEmpty)
        #expect(h.advance(to: 90_000) == [.removeGroup(RemoveGroupRecord(groupID: "g"))])
        #expect(h.image.groups["g"] == nil)
        #expect(h.coordinator.describeGroup("g").state == "Dead")
        #expect(h.coordinator.nextDeadlineMs == nil)
    }

    @Test func rebuiltStableGroupKeepsMembersWithFreshSessionTimers() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2, sessionMs: 10_000)
        let gen = try #require(h.groupState?.generation)
        h.nowMs = 9_000  // the old coordinator would expire both members at 10 s
        var rebuilt = GroupHarness(image: h.image)
        rebuilt.nowMs = 9_000
        rebuilt.coordinator = GroupCoordinator(image: h.image, options: GroupHarness.options(), nowMs: 9_000, seed: 1)
        #expect(rebuilt.coordinator.describeGroup("g").state == "Stable")
        #expect(rebuilt.coordinator.nextDeadlineMs == 19_000)
        #expect(rebuilt.heartbeat(ids[0], generation: gen) == KafkaErrorCode.none)
        #expect(rebuilt.syncNow(ids[1], generation: gen)?.assignment == Array(ids[1].utf8.prefix(2)))
        rebuilt.advance(to: 18_999)
        #expect(rebuilt.coordinator.describeGroup("g").members.count == 2)
        #expect(rebuilt.commit(ids[1], generation: gen) == [.none])
    }

    @Test func rebuiltCompletingGroupWaitsForSyncsThenRebalances() throws {
        var h = GroupHarness()
        let (ids, gen) = GroupSyncTests.completing(&h, sessionMs: 30_000)
        var first = GroupHarness(image: h.image)
        first.coordinator = GroupCoordinator(image: h.image, options: GroupHarness.options(), nowMs: 0, seed: 1)
        #expect(first.coordinator.describeGroup("g").state == "CompletingRebalance")
        let f = first.sync(ids[1], generation: gen)
        let l = first.sync(ids[0], generation: gen, assignments: [ids[1]: [1]])
        #expect(first.syncReply(f)?.assignment == [1] && first.syncReply(l)?.assignment == [])
        #expect(first.groupState?.phase == .stable)

        var second = GroupHarness(image: h.image)
        second.coordinator = GroupCoordinator(image: h.image, options: GroupHarness.options(), nowMs: 0, seed: 1)
        let parked = second.sync(ids[1], generation: gen)
        second.advance(to: 19_999)
        #expect(second.syncReply(parked) == nil)
        second.advance(to: 20_000)  // the rebalance timeout: the leader never synced
        #expect(second.syncReply(parked)?.errorCode == .rebalanceInProgress)
        #expect(second.coordinator.describeGroup("g").state == "PreparingRebalance")
        let rejoin = second.join(GroupHarness.joinInput(member: ids[1], client: "c1"))
        #expect(second.joinReply(rejoin)?.generationID == gen.next)
        #expect(second.joinReply(rejoin)?.leaderID == ids[1])
    }

    @Test func sameSeedAndImageGiveTheSameMemberIDsAndLaterImagesDifferentOnes() throws {
        func firstID(_ image: MetadataImage) -> String {
            var c = GroupCoordinator(image: image, options: GroupHarness.options(), nowMs: 0, seed: 3)
            let out = c.joinGroup(GroupHarness.joinInput(), token: 1, nowMs: 0, wallMs: 0)
            guard case .join(let reply) = out.replies.first?.body else { return "" }
            return reply.memberID
        }
        var later = MetadataImage.empty
        later.markApplied(index: 5, term: 1)
        #expect(firstID(.empty) == firstID(.empty))
        #expect(firstID(.empty) != firstID(later))
    }

    @Test func describeShowsMetadataAndAssignmentsOnlyWhenStable() throws {
        var h = GroupHarness()
        let ids = h.stableGroup(2)
        let stable = h.coordinator.describeGroup("g")
        #expect(stable.protocolName == "range" && stable.protocolType == "consumer")
        #expect(stable.members.map(\.assignment) == ids.map { Array($0.utf8.prefix(2)) })
        #expect(stable.members.map(\.metadata) == [[1], [1]])
        h.join(GroupHarness.joinInput(member: ids[0], client: "c0"))
        let preparing = h.coordinator.describeGroup("g")
        #expect(preparing.state == "PreparingRebalance" && preparing.protocolName == "")
        #expect(preparing.members.allSatisfy { $0.metadata.isEmpty && $0.assignment.isEmpty })
    }
}
