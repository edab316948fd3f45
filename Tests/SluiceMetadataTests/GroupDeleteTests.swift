import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Group coordinator: DeleteGroups and OffsetDelete")
struct GroupDeleteTests {
    private static func subscription(_ topics: [String]) -> [UInt8] {
        ConsumerProtocolSubscription(topics: topics).encodedVersionPrefixed(version: 0)
    }

    private func deleteGroups(_ h: inout GroupHarness, _ ids: [String]) -> [KafkaErrorCode]? {
        let t = h.token()
        h.absorb(h.coordinator.deleteGroups(ids, token: t))
        guard case .deleteGroups(let outcomes) = h.replies[t] else { return nil }
        #expect(outcomes.map(\.groupID) == ids)
        return outcomes.map(\.errorCode)
    }

    private func deleteOffsets(_ h: inout GroupHarness, _ partitions: [(String, Int32)], group: String = "g") -> OffsetDeleteOutcome? {
        let t = h.token()
        h.absorb(h.coordinator.deleteOffsets(group, partitions.map { OffsetDeletePartition(topic: $0.0, partition: PartitionIndex($0.1)) }, token: t))
        guard case .offsetDelete(let outcome) = h.replies[t] else { return nil }
        return outcome
    }

    @Test func anEmptyGroupIsDeletedWithItsOffsetsThroughTheLog() {
        var h = GroupHarness()
        #expect(h.commit("", generation: .none) == [.none])
        #expect(h.image.groups["g"] != nil)
        #expect(deleteGroups(&h, ["g"]) == [.none])
        #expect(h.records.last == .removeGroup(RemoveGroupRecord(groupID: "g")))
        #expect(h.image.groups["g"] == nil)
        #expect(h.coordinator.describeGroup("g").state == "Dead")
    }

    @Test func aGroupWithMembersIsNotEmptyAndUnknownGroupsAreNotFound() {
        var h = GroupHarness()
        _ = h.stableGroup(2)
        let before = h.records.count
        #expect(deleteGroups(&h, ["g", "nobody", ""]) == [.nonEmptyGroup, .groupIDNotFound, .invalidGroupID])
        #expect(h.records.count == before)
        #expect(h.image.groups["g"] != nil)
    }

    @Test func offsetDeleteOnAnEmptyGroupRemovesTheNamedPartitionsOnly() {
        var h = GroupHarness()
        let partitions = [OffsetCommitPartition(topic: "t", partition: 0, offset: 5), OffsetCommitPartition(topic: "t", partition: 1, offset: 6)]
        #expect(h.commit("", generation: .none, partitions: partitions) == [.none, .none])
        let outcome = deleteOffsets(&h, [("t", 0)])
        #expect(outcome == OffsetDeleteOutcome(errorCode: .none, partitionErrors: [.none]))
        #expect(Set(h.image.groups["g"]!.offsets.keys) == [TopicPartition(Fixture.topic("t"), 1)])
    }

    @Test func offsetDeleteKeepsTopicsTheMembersSubscribeTo() {
        var h = GroupHarness()
        var input = GroupHarness.joinInput(protocols: [("range", Self.subscription(["t"]))])
        let (member, token) = h.joinNew(input)
        input.memberID = member
        let generation = h.joinReply(token)!.generationID
        h.sync(member, generation: generation, assignments: [member: []])
        let partitions = [OffsetCommitPartition(topic: "t", partition: 0, offset: 5), OffsetCommitPartition(topic: "u", partition: 0, offset: 6)]
        #expect(h.commit(member, generation: generation, partitions: partitions) == [.none, .none])
        let outcome = deleteOffsets(&h, [("t", 0), ("u", 0)])
        #expect(outcome == OffsetDeleteOutcome(errorCode: .none, partitionErrors: [.groupSubscribedToTopic, .none]))
        #expect(Set(h.image.groups["g"]!.offsets.keys) == [TopicPartition(Fixture.topic("t"), 0)])
    }

    @Test func offsetDeleteNeedsAKnownGroupAndReadableSubscriptions() {
        var h = GroupHarness()
        #expect(deleteOffsets(&h, [("t", 0)], group: "missing")?.errorCode == .groupIDNotFound)
        // stableGroup's members send metadata that is no consumer subscription: every topic counts as subscribed.
        _ = h.stableGroup(1)
        #expect(deleteOffsets(&h, [("t", 0)])?.partitionErrors == [.groupSubscribedToTopic])
        var other = GroupHarness()
        _ = other.joinNew(GroupHarness.joinInput(type: "connect"))
        #expect(deleteOffsets(&other, [("t", 0)])?.errorCode == .nonEmptyGroup)
    }

    @Test func removeOffsetRecordsRoundTripAndApply() throws {
        let record = MetadataRecord.removeOffset(RemoveOffsetRecord(groupID: "g", topic: Fixture.topic("t"), partition: 3))
        #expect(try MetadataRecord.decode(exactly: record.encoded()) == record)
        var image = MetadataImage.empty
        #expect(throws: MetadataError.self) { try image.apply(record) }
        try image.apply(.offsetCommit(OffsetCommitRecord(groupID: "g", topic: Fixture.topic("t"), partition: 3, offset: 1,
                                                         leaderEpoch: .unknown, metadata: nil, commitWallMs: 0)))
        try image.apply(record)
        #expect(image.groups["g"]?.offsets.isEmpty == true)
    }
}
