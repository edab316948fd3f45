import Foundation
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceWire
import Testing

/// The admin APIs on one node: their wire shape, and that their changes reach the logs.
extension KafkaLayerTests {
    func earliest(_ connection: RawKafkaConnection, _ topic: String) throws -> Offset {
        try connection.call(ListOffsetsRequest(replicaID: .none, topics: [.init(name: topic, partitions: [.init(partitionIndex: 0, timestamp: -2)])]),
                            version: 5).topics[0].partitions[0].offset
    }

    @Test func aSegmentBytesChangeRollsTheOpenLogWithoutARestart() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "roll", partitions: 1) == 0)
            let change = IncrementalAlterConfigsRequest(resources: [
                .init(resourceType: 2, resourceName: "roll", configs: [.init(name: "segment.bytes", configOperation: 0, value: "1024")]),
            ])
            #expect(try connection.call(change, version: 0).responses.map(\.errorCode) == [0])
            for i in 0..<8 {
                #expect(try produce(connection, topic: "roll", partition: 0, batch([String(repeating: "x", count: 300) + "\(i)"])).errorCode == 0)
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: broker.directory + "/topics/roll-0")
            #expect(files.filter { $0.hasSuffix(".log") }.count > 1, "segments roll at the new size: \(files.sorted())")
        }
    }

    @Test func deleteRecordsMovesTheLogStartWithinTheHighWatermark() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "trim", partitions: 1) == 0)
            #expect(try produce(connection, topic: "trim", partition: 0, batch(["a", "b", "c", "d", "e"])).errorCode == 0)
            func delete(_ offset: Offset, topic: String = "trim") throws -> (Int16, Offset) {
                let request = DeleteRecordsRequest(topics: [.init(name: topic, partitions: [.init(partitionIndex: 0, offset: offset)])], timeoutMs: 5000)
                let answer = try connection.call(request, version: 1).topics[0].partitions[0]
                return (answer.errorCode, answer.lowWatermark)
            }
            #expect(try delete(3) == (0, 3))
            #expect(try earliest(connection, "trim") == 3)
            #expect(try delete(1) == (0, 3), "an offset below the log start changes nothing")
            #expect(try delete(6).0 == KafkaErrorCode.offsetOutOfRange.rawValue)
            #expect(try delete(-1) == (0, 5), "-1 is the high watermark")
            #expect(try delete(0, topic: "missing").0 == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        }
    }

    @Test func offsetDeleteAndDeleteGroupsRemoveAnEmptyGroupsOffsets() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "grp", partitions: 2) == 0)
            let unknown = try connection.call(DeleteGroupsRequest(groupsNames: ["nobody"]), version: 1)
            #expect(unknown.results.map(\.errorCode) == [KafkaErrorCode.groupIDNotFound.rawValue])
            let commit = OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: .none, memberID: "", topics: [
                .init(name: "grp", partitions: [.init(partitionIndex: 0, committedOffset: 1), .init(partitionIndex: 1, committedOffset: 2)]),
            ])
            #expect(try connection.call(commit, version: 7).topics[0].partitions.map(\.errorCode) == [0, 0])
            let offsets = try connection.call(OffsetDeleteRequest(groupID: "g", topics: [.init(name: "grp", partitions: [.init(partitionIndex: 0)])]),
                                              version: 0)
            #expect(offsets.errorCode == 0 && offsets.topics[0].partitions.map(\.errorCode) == [0])
            let fetched = try connection.call(OffsetFetchRequest(groupID: "g", topics: nil), version: 5)
            #expect(fetched.topics.flatMap(\.partitions).filter { $0.committedOffset >= 0 }.map(\.partitionIndex) == [1])
            #expect(try connection.call(DeleteGroupsRequest(groupsNames: ["g"]), version: 1).results.map(\.errorCode) == [0])
            let after = try connection.call(OffsetFetchRequest(groupID: "g", topics: nil), version: 5)
            #expect(after.topics.flatMap(\.partitions).allSatisfy { $0.committedOffset < 0 })
        }
    }
}
