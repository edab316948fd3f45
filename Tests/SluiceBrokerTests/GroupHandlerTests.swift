import Logging
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceWire
import Testing

/// The group handlers' translation between Kafka versions and the coordinator's inputs.
@Suite struct GroupHandlerTests {
    static func context(_ key: KafkaAPIKey, _ version: Int16, client: String = "client-1") -> RequestContext {
        RequestContext(header: RequestHeader(apiKey: key.rawValue, apiVersion: version, correlationID: 1, clientID: client),
                       logger: Logger(label: "test"), clientHost: "/127.0.0.9")
    }

    static let joinRequest = JoinGroupRequest(
        groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberID: "", groupInstanceID: "static-1",
        protocolType: "consumer", protocols: [.init(name: "range", metadata: [1]), .init(name: "roundrobin", metadata: [2])])

    @Test func joinGroupV0UsesTheSessionTimeoutAsRebalanceTimeout() {
        let v0 = JoinGroupHandler.input(Self.joinRequest, Self.context(.joinGroup, 0))
        #expect(v0.rebalanceTimeoutMs == 10_000 && v0.sessionTimeoutMs == 10_000)
        #expect(v0.requireKnownMemberID == false && v0.groupInstanceID == nil)
        #expect(v0.protocols == [GroupProtocol(name: "range", metadata: [1]), GroupProtocol(name: "roundrobin", metadata: [2])])
        #expect(v0.clientID == "client-1" && v0.clientHost == "/127.0.0.9")
        let v1 = JoinGroupHandler.input(Self.joinRequest, Self.context(.joinGroup, 1))
        #expect(v1.rebalanceTimeoutMs == 30_000)
    }

    @Test func joinGroupV4RequiresAKnownMemberIDAndV5CarriesTheInstanceID() {
        #expect(JoinGroupHandler.input(Self.joinRequest, Self.context(.joinGroup, 3)).requireKnownMemberID == false)
        let v4 = JoinGroupHandler.input(Self.joinRequest, Self.context(.joinGroup, 4))
        #expect(v4.requireKnownMemberID && v4.groupInstanceID == nil)
        let v5 = JoinGroupHandler.input(Self.joinRequest, Self.context(.joinGroup, 5))
        #expect(v5.requireKnownMemberID && v5.groupInstanceID == "static-1")
    }

    @Test func syncGroupCarriesTheInstanceIDFromV3() {
        let request = SyncGroupRequest(groupID: "g", generationID: 3, memberID: "m", groupInstanceID: "i",
                                       assignments: [.init(memberID: "m", assignment: [9])])
        #expect(SyncGroupHandler.input(request, Self.context(.syncGroup, 2)).groupInstanceID == nil)
        let v3 = SyncGroupHandler.input(request, Self.context(.syncGroup, 3))
        #expect(v3.groupInstanceID == "i" && v3.generationID == 3 && v3.assignments == [SyncGroupAssignment(memberID: "m", assignment: [9])])
    }

    @Test func leaveGroupV0To2NameOneMemberAndReportItsErrorAtTheTop() {
        let request = LeaveGroupRequest(groupID: "g", memberID: "old", members: [.init(memberID: "a"), .init(memberID: "", groupInstanceID: "s")])
        #expect(LeaveGroupHandler.input(request, Self.context(.leaveGroup, 2)).members == [LeaveGroupMember(memberID: "old")])
        #expect(LeaveGroupHandler.input(request, Self.context(.leaveGroup, 3)).members
                == [LeaveGroupMember(memberID: "a"), LeaveGroupMember(memberID: "", groupInstanceID: "s")])
        let outcome = LeaveGroupOutcome(errorCode: .none, members: [.init(memberID: "old", groupInstanceID: nil, errorCode: .unknownMemberID)])
        #expect(LeaveGroupHandler.response(outcome, version: 1).errorCode == KafkaErrorCode.unknownMemberID.rawValue)
        let v3 = LeaveGroupHandler.response(outcome, version: 3)
        #expect(v3.errorCode == 0 && v3.members.map(\.errorCode) == [KafkaErrorCode.unknownMemberID.rawValue])
    }

    static func imageWithTopic(_ name: String, partitions: Int32) throws -> MetadataImage {
        let id = KafkaUUID(high: 7, low: 7)
        var image = MetadataImage.empty
        try image.apply(.topic(TopicRecord(name: TopicName(rawValue: name)!, topicID: id)))
        for p in 0..<partitions {
            try image.apply(.partition(PartitionRecord(topicID: id, partition: PartitionIndex(p), replicas: [1], isr: [1], leader: 1)))
        }
        return image
    }

    @Test func offsetCommitV0IsASimpleCommitAndUnknownTopicsAreRefusedAtOnce() throws {
        let image = try Self.imageWithTopic("t", partitions: 2)
        let request = OffsetCommitRequest(
            groupID: "g", generationIDOrMemberEpoch: 5, memberID: "m", groupInstanceID: "i", topics: [
                .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 4, committedMetadata: "x"),
                                              .init(partitionIndex: 2, committedOffset: 11)]),
                .init(name: "missing", partitions: [.init(partitionIndex: 0, committedOffset: 12)]),
                .init(name: "t", partitions: [.init(partitionIndex: 1, committedOffset: 13)]),
            ])
        let (v0, slots) = OffsetCommitHandler.input(request, Self.context(.offsetCommit, 0), image: image)
        #expect(v0.generationID == .none && v0.memberID == "" && v0.groupInstanceID == nil)
        #expect(v0.partitions.map(\.offset) == [10, 13])
        #expect(v0.partitions[0].leaderEpoch == .unknown && v0.partitions[0].metadata == "x")
        #expect(slots == [.core(0), .refused(.unknownTopicOrPartition), .refused(.unknownTopicOrPartition), .core(1)])

        let (v1, _) = OffsetCommitHandler.input(request, Self.context(.offsetCommit, 1), image: image)
        #expect(v1.generationID == 5 && v1.memberID == "m" && v1.groupInstanceID == nil)
        let (v6, _) = OffsetCommitHandler.input(request, Self.context(.offsetCommit, 6), image: image)
        #expect(v6.partitions[0].leaderEpoch == 4 && v6.groupInstanceID == nil)
        let (v7, _) = OffsetCommitHandler.input(request, Self.context(.offsetCommit, 7), image: image)
        #expect(v7.groupInstanceID == "i")
    }

    @Test func offsetFetchAnswersMinusOneForNothingCommittedAndAllForNullTopics() {
        let t = TopicName(rawValue: "t")!, u = TopicName(rawValue: "u")!
        let offsets: [TopicPartition: CommittedOffset] = [
            TopicPartition(t, 1): CommittedOffset(offset: 40, leaderEpoch: 3, metadata: nil, commitWallMs: 0),
            TopicPartition(u, 0): CommittedOffset(offset: 7, leaderEpoch: .unknown, metadata: "meta", commitWallMs: 0),
        ]
        let named = OffsetFetchRequest(groupID: "g", topics: [.init(name: "t", partitionIndexes: [0, 1])])
        let response = OffsetFetchHandler.response(named, version: 5, offsets: .success(offsets))
        let parts = response.topics.flatMap(\.partitions)
        #expect(parts.map(\.committedOffset) == [-1, 40])
        #expect(parts.map(\.committedLeaderEpoch) == [-1, 3])
        #expect(parts.map(\.metadata) == ["", ""] && parts.allSatisfy { $0.errorCode == 0 })

        let all = OffsetFetchHandler.response(OffsetFetchRequest(groupID: "g", topics: nil), version: 2, offsets: .success(offsets))
        #expect(all.topics.map(\.name) == ["t", "u"])
        #expect(all.topics.map { $0.partitions.map(\.committedOffset) } == [[40], [7]])
        #expect(all.topics[1].partitions[0].metadata == "meta")
    }

    @Test func offsetFetchRefusalIsTopLevelFromV2AndPerPartitionBefore() {
        let request = OffsetFetchRequest(groupID: "g", topics: [.init(name: "t", partitionIndexes: [0, 1])])
        let v1 = OffsetFetchHandler.response(request, version: 1, offsets: .failure(.notCoordinator))
        #expect(v1.topics.flatMap(\.partitions).map(\.errorCode) == [16, 16])
        let v2 = OffsetFetchHandler.response(request, version: 2, offsets: .failure(.loading))
        #expect(v2.errorCode == KafkaErrorCode.coordinatorLoadInProgress.rawValue && v2.topics.isEmpty)
    }

    @Test func everyGroupAPIIsAdvertisedFromItsOldMinimum() {
        let advertised = Dictionary(uniqueKeysWithValues: RequestDispatcher.advertised.map { ($0.key, $0.versions) })
        // librdkafka < 2.11.1 checks exact versions (CLIENTS.md §1c).
        #expect(advertised[.findCoordinator] == 0...2)
        #expect(advertised[.joinGroup] == 0...5)
        #expect(advertised[.syncGroup] == 0...3)
        #expect(advertised[.heartbeat] == 0...3)
        #expect(advertised[.leaveGroup] == 0...3)
        #expect(advertised[.offsetCommit] == 0...7)
        #expect(advertised[.offsetFetch] == 0...5)
        #expect(advertised[.describeGroups] == 0...4)
        #expect(advertised[.listGroups] == 0...2)
    }

    @Test func nonCoordinatorsRefuseAndListNoGroups() async throws {
        let view = MetadataView()
        view.publish(controllerID: 2)
        let service = GroupCoordinatorService(nodeID: 1, log: FakeMetadataLog(view: view), view: view, options: GroupOptions(),
                                              logger: Logger(label: "t"), nowMs: { 0 }, wallMs: { 0 })
        let join = await JoinGroupHandler(groups: service).handle(Self.joinRequest, Self.context(.joinGroup, 5))
        #expect(join?.errorCode == KafkaErrorCode.notCoordinator.rawValue)
        let heartbeat = await HeartbeatHandler(groups: service).handle(HeartbeatRequest(groupID: "g", generationID: 1, memberID: "m"),
                                                                       Self.context(.heartbeat, 3))
        #expect(heartbeat?.errorCode == KafkaErrorCode.notCoordinator.rawValue)
        let list = await ListGroupsHandler(groups: service).handle(ListGroupsRequest(), Self.context(.listGroups, 2))
        #expect(list?.errorCode == 0 && list?.groups.isEmpty == true)
        let describe = await DescribeGroupsHandler(groups: service).handle(DescribeGroupsRequest(groups: ["g"]), Self.context(.describeGroups, 4))
        #expect(describe?.groups.map(\.errorCode) == [KafkaErrorCode.notCoordinator.rawValue])
        // This node becomes the controller: until its coordinator is active, it is loading.
        view.publish(controllerID: 1)
        let loading = await SyncGroupHandler(groups: service).handle(SyncGroupRequest(groupID: "g", generationID: 1, memberID: "m"),
                                                                     Self.context(.syncGroup, 3))
        #expect(loading?.errorCode == KafkaErrorCode.coordinatorLoadInProgress.rawValue)
    }
}
