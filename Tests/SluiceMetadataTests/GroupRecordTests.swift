import NIOCore
import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Group records: encoding, image and snapshot")
struct GroupRecordTests {
    static let member = GroupMemberRecord(
        memberID: "c1-0001", groupInstanceID: "host-a", clientID: "c1", clientHost: "/127.0.0.1",
        sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, subscription: [0, 1, 2, 3], assignment: [9, 8])

    static let stable = GroupStateRecord(
        groupID: "g1", protocolType: "consumer", generation: 3, protocolName: "range", leaderID: "c1-0001",
        phase: .stable, stateChangeWallMs: 1_700_000_000_000,
        members: [
            member,
            GroupMemberRecord(
                memberID: "c2-ü", groupInstanceID: nil, clientID: "c2", clientHost: "h", sessionTimeoutMs: 6_000,
                rebalanceTimeoutMs: 6_000, subscription: [], assignment: []),
        ])

    static let samples: [MetadataRecord] = [
        .groupState(stable),
        .groupState(
            GroupStateRecord(
                groupID: "g2", protocolType: "consumer", generation: 1, protocolName: "roundrobin", leaderID: "m",
                phase: .completingRebalance, stateChangeWallMs: 5,
                members: [
                    GroupMemberRecord(
                        memberID: "m", groupInstanceID: nil, clientID: "", clientHost: "", sessionTimeoutMs: 1,
                        rebalanceTimeoutMs: 2, subscription: [7], assignment: nil)
                ])),
        .groupState(GroupImage.initialState(groupID: "empty", wallMs: -1)),
        .offsetCommit(
            OffsetCommitRecord(
                groupID: "g1", topic: Fixture.topic("orders"), partition: 5, offset: 1234, leaderEpoch: 2,
                metadata: "meta", commitWallMs: 99)),
        .offsetCommit(
            OffsetCommitRecord(
                groupID: "g1", topic: Fixture.topic("orders"), partition: 0, offset: 0, leaderEpoch: .unknown,
                metadata: nil, commitWallMs: 0)),
        .removeGroup(RemoveGroupRecord(groupID: "g1")),
        .removeOffset(RemoveOffsetRecord(groupID: "g1", topic: Fixture.topic("orders"), partition: 5)),
    ]

    @Test("every group record decodes to what was encoded", arguments: samples)
    func roundTrip(record: MetadataRecord) throws {
        #expect(try MetadataRecord.decode(exactly: record.encoded()) == record)
    }

    @Test("every truncation of a group record is refused", arguments: samples)
    func truncationsAreRefused(record: MetadataRecord) {
        let bytes = Fixture.bytes(record.encoded())
        for length in 0..<bytes.count {
            #expect(throws: MetadataCodecError.self) {
                try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes[0..<length]))
            }
        }
    }

    @Test func removeGroupGoldenBytes() {
        #expect(Fixture.bytes(MetadataRecord.removeGroup(RemoveGroupRecord(groupID: "ab")).encoded()) == [
            12, 0,  // kind RemoveGroup, version 0
            0, 2, 0x61, 0x62,  // "ab"
        ])
    }

    @Test func offsetCommitGoldenBytes() {
        let record = MetadataRecord.offsetCommit(
            OffsetCommitRecord(
                groupID: "g", topic: Fixture.topic("t"), partition: 1, offset: 258, leaderEpoch: .unknown,
                metadata: nil, commitWallMs: 3))
        #expect(Fixture.bytes(record.encoded()) == [
            11, 0,
            0, 1, 0x67,  // group "g"
            0, 1, 0x74,  // topic "t"
            0, 0, 0, 1,  // partition
            0, 0, 0, 0, 0, 0, 1, 2,  // offset 258
            0xFF, 0xFF, 0xFF, 0xFF,  // leader epoch -1
            0,  // no metadata
            0, 0, 0, 0, 0, 0, 0, 3,  // commit wall ms
        ])
    }

    @Test func newerVersionAndUnknownPhaseAreRefused() {
        var bytes = Fixture.bytes(Self.samples[0].encoded())
        bytes[1] = 1
        #expect(throws: MetadataCodecError.unsupportedVersion(kind: "groupState", version: 1)) {
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes))
        }
        let empty = Fixture.bytes(MetadataRecord.groupState(GroupImage.initialState(groupID: "g", wallMs: 0)).encoded())
        var badPhase = empty
        // kind, version, "g" (3), "" (2), generation (4), two absent options (2): phase at 13.
        badPhase[13] = 7
        #expect(throws: MetadataCodecError.invalidValue(field: "phase", reason: "unknown group phase 7")) {
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: badPhase))
        }
    }

    @Test func hugeMemberCountIsRefusedBeforeAllocating() {
        var bytes = Fixture.bytes(MetadataRecord.groupState(GroupImage.initialState(groupID: "g", wallMs: 0)).encoded())
        bytes.replaceSubrange(bytes.count - 4..<bytes.count, with: [0, 0x01, 0x00, 0x00])  // 65536 members
        #expect(throws: MetadataCodecError.truncated(field: "members", needed: 65536 * 21, available: 0)) {
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes))
        }
    }

    @Test func imageKeepsStateAndOffsetsAndOffsetCommitCreatesAnEmptyGroup() throws {
        var image = MetadataImage.empty
        try image.applyAll([Self.samples[3]])
        #expect(image.groups["g1"]?.state == GroupImage.initialState(groupID: "g1", wallMs: 99))
        try image.applyAll([.groupState(Self.stable), Self.samples[4]])
        let group = try #require(image.groups["g1"])
        #expect(group.state == Self.stable)
        #expect(group.offsets.count == 2)
        #expect(group.offsets[TopicPartition(Fixture.topic("orders"), 5)] == CommittedOffset(offset: 1234, leaderEpoch: 2, metadata: "meta", commitWallMs: 99))
        try image.applyAll([.removeGroup(RemoveGroupRecord(groupID: "g1"))])
        #expect(image.groups.isEmpty)
        #expect(throws: MetadataError.unknownGroup("g1")) { try image.apply(.removeGroup(RemoveGroupRecord(groupID: "g1"))) }
    }

    @Test func invalidGroupStatesAreRefused() {
        var noLeader = Self.stable
        noLeader.leaderID = "nobody"
        var emptyWithMembers = Self.stable
        emptyWithMembers.phase = .empty
        var stableWithoutAssignment = Self.stable
        stableWithoutAssignment.members[0].assignment = nil
        var duplicate = Self.stable
        duplicate.members[1].memberID = duplicate.members[0].memberID
        for bad in [noLeader, emptyWithMembers, stableWithoutAssignment, duplicate] {
            #expect(throws: MetadataError.self) { try MetadataImage.empty.applying(.groupState(bad)) }
        }
    }

    @Test func removeTopicDropsEveryGroupsOffsetsForIt() throws {
        var controller = Fixture.controller(brokers: 1)
        _ = controller.createTopics([CreateTopicRequest(name: "orders", numPartitions: 2, replicationFactor: 1)], validateOnly: false)
        var image = controller.image
        let other = Fixture.topic("other")
        try image.applyAll([
            Self.samples[3], Self.samples[4],
            .offsetCommit(OffsetCommitRecord(groupID: "g2", topic: other, partition: 0, offset: 7, leaderEpoch: 0, metadata: nil, commitWallMs: 1)),
            .offsetCommit(OffsetCommitRecord(groupID: "g2", topic: Fixture.topic("orders"), partition: 1, offset: 7, leaderEpoch: 0, metadata: nil, commitWallMs: 1)),
        ])
        let topicID = try #require(image.topic(named: Fixture.topic("orders"))?.topicID)
        try image.applyAll([.removeTopic(RemoveTopicRecord(topicID: topicID))])
        #expect(image.groups["g1"]?.offsets.isEmpty == true)
        #expect(image.groups["g2"]?.offsets.keys.map(\.description) == ["other-0"])
    }

    @Test func snapshotCarriesGroupsAndOffsetsInOrder() throws {
        var image = MetadataImage.empty
        try image.applyAll([
            .offsetCommit(OffsetCommitRecord(groupID: "zeta", topic: Fixture.topic("b"), partition: 1, offset: 5, leaderEpoch: 1, metadata: "x", commitWallMs: 3)),
            .groupState(Self.stable),
            .offsetCommit(OffsetCommitRecord(groupID: "g1", topic: Fixture.topic("b"), partition: 0, offset: 9, leaderEpoch: 1, metadata: nil, commitWallMs: 4)),
            .offsetCommit(OffsetCommitRecord(groupID: "g1", topic: Fixture.topic("a"), partition: 3, offset: 8, leaderEpoch: 1, metadata: nil, commitWallMs: 4)),
        ])
        let kinds = image.snapshotRecords().map { record -> String in
            switch record {
            case .groupState(let r): "state \(r.groupID)"
            case .offsetCommit(let r): "offset \(r.groupID) \(r.topic)-\(r.partition)"
            default: "other"
            }
        }
        #expect(kinds == ["state g1", "offset g1 a-3", "offset g1 b-0", "state zeta", "offset zeta b-1"])
        let restored = try MetadataImage(snapshotBytes: image.snapshotBytes(), index: 0, term: 0)
        #expect(restored == image)
    }
}
