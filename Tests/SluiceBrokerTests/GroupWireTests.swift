@testable import SluiceBroker
import SluiceCore
import SluiceWire
import Testing

/// One member's whole life in a group, over a real socket: the handlers, the coordinator
/// service and the metadata log together.
@Suite(.serialized) struct GroupWireTests {
    @Test func findCoordinatorNamesTheControllerAtEveryVersion() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try BlockingKafkaCalls(port: broker.port)
            for version: Int16 in 0...2 {
                let found = try await connection.call(FindCoordinatorRequest(key: "g", keyType: 0), version: version)
                #expect(found.errorCode == 0 && found.nodeID == 1 && found.port == Int32(broker.port) && found.host == "127.0.0.1")
            }
            let transactional = try await connection.call(FindCoordinatorRequest(key: "tx", keyType: 1), version: 1)
            #expect(transactional.errorCode == KafkaErrorCode.invalidRequest.rawValue)
        }
    }

    @Test func aMemberJoinsSyncsHeartbeatsCommitsAndLeaves() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try BlockingKafkaCalls(port: broker.port)
            let created = try await connection.call(CreateTopicsRequest(topics: [.init(name: "events", numPartitions: 2, replicationFactor: 1)],
                                                        timeoutMs: 5000), version: 4)
            #expect(created.topics[0].errorCode == 0)
            var join = JoinGroupRequest(groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberID: "",
                                        protocolType: "consumer", protocols: [.init(name: "range", metadata: [0, 1])])
            let required = try await connection.call(join, version: 5)
            #expect(required.errorCode == KafkaErrorCode.memberIDRequired.rawValue && required.memberID.hasPrefix("test-"))
            join.memberID = required.memberID
            let joined = try await connection.call(join, version: 5)
            #expect(joined.errorCode == 0 && joined.generationID == 1 && joined.leader == required.memberID)
            #expect(joined.protocolName == "range" && joined.members.map(\.metadata) == [[0, 1]])

            let member = required.memberID
            let synced = try await connection.call(SyncGroupRequest(groupID: "g", generationID: 1, memberID: member,
                                                     assignments: [.init(memberID: member, assignment: [4, 2])]), version: 3)
            #expect(synced.errorCode == 0 && synced.assignment == [4, 2])
            let beat = try await connection.call(HeartbeatRequest(groupID: "g", generationID: 1, memberID: member), version: 3)
            #expect(beat.errorCode == 0)

            let commit = OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: 1, memberID: member, topics: [
                .init(name: "events", partitions: [.init(partitionIndex: 1, committedOffset: 17, committedMetadata: "m")]),
                .init(name: "nope", partitions: [.init(partitionIndex: 0, committedOffset: 1)])])
            let committed = try await connection.call(commit, version: 7)
            #expect(committed.topics.map { $0.partitions.map(\.errorCode) } == [[0], [KafkaErrorCode.unknownTopicOrPartition.rawValue]])
            let fetched = try await connection.call(OffsetFetchRequest(groupID: "g", topics: [.init(name: "events", partitionIndexes: [0, 1])]), version: 5)
            #expect(fetched.errorCode == 0 && fetched.topics[0].partitions.map(\.committedOffset) == [-1, 17])
            #expect(fetched.topics[0].partitions[1].metadata == "m")

            let described = try await connection.call(DescribeGroupsRequest(groups: ["g", "other"]), version: 4)
            #expect(described.groups.map(\.groupState) == ["Stable", "Dead"])
            #expect(described.groups[0].members.map(\.clientHost) == ["/127.0.0.1"])
            #expect(described.groups[0].members.map(\.memberAssignment) == [[4, 2]])
            let listed = try await connection.call(ListGroupsRequest(), version: 2)
            #expect(listed.errorCode == 0 && listed.groups.map(\.groupID) == ["g"])

            let left = try await connection.call(LeaveGroupRequest(groupID: "g", memberID: member), version: 1)
            #expect(left.errorCode == 0)
            let empty = try await connection.call(DescribeGroupsRequest(groups: ["g"]), version: 0)
            #expect(empty.groups.map(\.groupState) == ["Empty"] && empty.groups[0].members.isEmpty)
            // The committed offset outlives the membership.
            let still = try await connection.call(OffsetFetchRequest(groupID: "g", topics: [.init(name: "events", partitionIndexes: [1])]), version: 1)
            #expect(still.topics[0].partitions.map(\.committedOffset) == [17])
        }
    }
}

/// A raw connection whose blocking calls run on a Dispatch thread (a JoinGroup blocks until its
/// join phase completes); one call at a time, so the unchecked Sendable is safe.
final class BlockingKafkaCalls: @unchecked Sendable {
    let connection: RawKafkaConnection
    init(port: Int) throws { connection = try RawKafkaConnection(port: port) }

    func call<R: APIRequest>(_ request: R, version: Int16) async throws -> R.Response {
        try await offPool { try self.connection.call(request, version: version) }
    }
}
