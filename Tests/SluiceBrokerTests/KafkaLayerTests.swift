import Foundation
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceRecords
import SluiceWire
import Testing

/// The Kafka layer of one node over a real TCP socket and real log files.
@Suite(.serialized) struct KafkaLayerTests {
    func batch(_ values: [String], producerID: ProducerID = .none, sequence: Int32 = -1, key: String = "k") -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: producerID, producerEpoch: producerID == .none ? .none : 0,
                                         baseSequence: ProducerSequence(sequence))
        for v in values { builder.append(key: Array(key.utf8), value: Array(v.utf8), timestamp: RecordTimestamp(1_700_000_000_000)) }
        return try! builder.build().bytes
    }

    func produce(_ connection: RawKafkaConnection, topic: String, partition: Int32, _ records: ByteBuffer, acks: Int16 = -1) throws
        -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse
    {
        let request = ProduceRequest(acks: acks, timeoutMs: 5000, topicData: [
            .init(name: topic, partitionData: [.init(index: PartitionIndex(partition), records: records)])])
        return try connection.call(request, version: 8).responses[0].partitionResponses[0]
    }

    func createTopic(_ connection: RawKafkaConnection, _ name: String, partitions: Int32) throws -> Int16 {
        try connection.call(CreateTopicsRequest(topics: [.init(name: name, numPartitions: partitions, replicationFactor: 1)], timeoutMs: 5000),
                            version: 4).topics[0].errorCode
    }

    @Test func apiVersionsAdvertisesWhatTheHandlersServe() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            let response = try connection.call(ApiVersionsRequest(), version: 2)
            #expect(response.errorCode == 0)
            let produce = response.apiKeys.first { $0.apiKey == KafkaAPIKey.produce.rawValue }
            #expect(produce?.minVersion == 0 && produce?.maxVersion == 8, "librdkafka < 2.11.1 needs Produce v0 in the range")
            #expect(response.apiKeys.contains { $0.apiKey == KafkaAPIKey.findCoordinator.rawValue && $0.minVersion == 0 })
            // ApiVersions v3 is flexible (header v2 in, header v0 out) and lists the same ranges.
            let v3 = try connection.call(ApiVersionsRequest(clientSoftwareName: "test", clientSoftwareVersion: "1"), version: 3)
            #expect(v3.errorCode == 0 && v3.apiKeys == response.apiKeys)
            #expect(v3.apiKeys.contains { $0.apiKey == KafkaAPIKey.describeCluster.rawValue && $0.maxVersion == 1 })
            let v0 = try connection.call(ApiVersionsRequest(), version: 0)  // connection still usable
            #expect(v0.errorCode == 0)
        }
    }

    @Test func describeClusterAndDescribeQuorumAnswerFromTheMetadataViewAndTheRaftDriver() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            for version: Int16 in [0, 1] {
                let cluster = try connection.call(DescribeClusterRequest(includeClusterAuthorizedOperations: true), version: version)
                #expect(cluster.errorCode == 0 && cluster.clusterID == "sluice" && cluster.controllerID == 1)
                #expect(cluster.brokers.map(\.brokerID) == [1] && cluster.brokers[0].port == Int32(broker.port))
                #expect(cluster.clusterAuthorizedOperations == Int32.min)
            }
            let controllers = try connection.call(DescribeClusterRequest(endpointType: 2), version: 1)
            #expect(controllers.errorCode == KafkaErrorCode.unsupportedEndpointType.rawValue)

            let request = DescribeQuorumRequest(topics: [
                .init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)]),
                .init(topicName: "other", partitions: [.init(partitionIndex: 0)]),
            ])
            let quorum = try connection.call(request, version: 1)
            let metadata = quorum.topics[0].partitions[0]
            #expect(metadata.errorCode == 0 && metadata.leaderID == 1 && metadata.leaderEpoch == 3 && metadata.highWatermark == 7)
            #expect(metadata.currentVoters == [.init(replicaID: 1, logEndOffset: 9, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1)])
            #expect(quorum.topics[1].partitions[0].errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        }
    }

    @Test func describeQuorumOnAFollowerIsNotLeaderOrFollower() {
        let follower = RaftQuorumStatus(leader: 2, term: 5, isLeader: false, raftCommitIndex: 4,
                                        voters: [.init(id: 1, matchIndex: nil), .init(id: 2, matchIndex: nil)], learners: [])
        let answer = DescribeQuorumHandler.answer(topic: "__cluster_metadata", partition: 0, follower)
        #expect(answer.errorCode == KafkaErrorCode.notLeaderOrFollower.rawValue)
        #expect(answer.leaderID == 2 && answer.leaderEpoch == 5 && answer.currentVoters.isEmpty)
        #expect(DescribeQuorumHandler.answer(topic: "__cluster_metadata", partition: 0, nil).errorCode
            == KafkaErrorCode.notLeaderOrFollower.rawValue)
    }

    /// ApiVersions v4 is newer than the broker serves (v0-3), so it answers as Kafka does: response
    /// header v0, a v0 body with UNSUPPORTED_VERSION and the one entry {18, 0, 3}, and the
    /// connection stays open for the client's v0 retry.
    @Test func apiVersionsV4GetsTheV0FallbackAndTheConnectionStaysUsable() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            // As librdkafka sends v3, at v4: header v2 (client id INT16 string + empty tags),
            // body v3 (compact client_software_name and _version, empty tags).
            var body: [UInt8] = [0x00, 0x12, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2A]
            body += [0x00, 0x04] + Array("test".utf8) + [0x00]
            body += [UInt8(1 + 10)] + Array("librdkafka".utf8) + [UInt8(1 + 5)] + Array("2.3.0".utf8) + [0x00]
            connection.sendRaw(withUInt32BigEndianPrefix(body))
            var payload = try connection.readFrame()
            let header = try ResponseHeader(from: &payload, version: 0)
            #expect(header.correlationID == 42)
            let fallback = try ApiVersionsResponse(from: &payload, version: 0)
            #expect(payload.readableBytes == 0, "the fallback is exactly a v0 body")
            #expect(fallback.errorCode == KafkaErrorCode.unsupportedVersion.rawValue)
            #expect(fallback.apiKeys.map { [$0.apiKey, $0.minVersion, $0.maxVersion] } == [[18, 0, 3]])
            // The client's retry at v0 on the same connection is served normally.
            let v0 = try connection.call(ApiVersionsRequest(), version: 0)
            #expect(v0.errorCode == 0 && v0.apiKeys.count > 1)
        }
    }

    private func withUInt32BigEndianPrefix(_ bytes: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) } + bytes
    }

    @Test func createProduceFetchAndListOffsetsRoundTrip() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "orders", partitions: 3) == 0)
            #expect(try createTopic(connection, "orders", partitions: 3) == KafkaErrorCode.topicAlreadyExists.rawValue)
            let metadata = try connection.call(MetadataRequest(topics: [.init(name: "orders")], allowAutoTopicCreation: false), version: 8)
            #expect(metadata.brokers.map(\.nodeID) == [1] && metadata.brokers[0].port == Int32(broker.port))
            #expect(metadata.controllerID == .none || metadata.controllerID == 1)
            #expect(metadata.topics[0].partitions.count == 3)
            #expect(metadata.topics[0].partitions.allSatisfy { $0.leaderID == 1 && $0.isrNodes == [1] })

            let first = try produce(connection, topic: "orders", partition: 1, batch(["a", "b", "c"]))
            #expect(first.errorCode == 0 && first.baseOffset == 0)
            let second = try produce(connection, topic: "orders", partition: 1, batch(["d"]))
            #expect(second.errorCode == 0 && second.baseOffset == 3)

            let fetch = FetchRequest(replicaID: .none, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, topics: [
                .init(topic: "orders", partitions: [.init(partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20)])])
            let fetched = try connection.call(fetch, version: 11).responses[0].partitions[0]
            #expect(fetched.errorCode == 0 && fetched.highWatermark == 4)
            var splitter = RecordBatchSplitter(fetched.records!, trailingBytes: .rejectPartialTrailingBatch)
            var values: [String] = []
            while let b = try splitter.next() {
                for record in try b.decodeRecords() { values.append(String(buffer: record.value!)) }
            }
            #expect(values == ["a", "b", "c", "d"])
            let empty = FetchRequest(replicaID: .none, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [
                .init(topic: "orders", partitions: [.init(partition: 2, fetchOffset: 0, partitionMaxBytes: 1 << 20)])])
            let nothing = try connection.call(empty, version: 11).responses[0].partitions[0]
            #expect(nothing.records != nil && nothing.records?.readableBytes == 0, "no data is empty records, never null (kafka-python)")

            let list = ListOffsetsRequest(replicaID: .none, topics: [.init(name: "orders", partitions: [
                .init(partitionIndex: 1, timestamp: -1), .init(partitionIndex: 1, timestamp: -2)])])
            let offsets = try connection.call(list, version: 5).topics[0].partitions
            #expect(offsets.map(\.offset) == [4, 0])

            let unknown = try produce(connection, topic: "nope", partition: 0, batch(["x"]))
            #expect(unknown.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
            // A partition index the topic does not have is unknown, not "ask another node":
            // NOT_LEADER_OR_FOLLOWER would send the client into a refresh-and-retry loop.
            let noSuchPartition = try produce(connection, topic: "orders", partition: 7, batch(["x"]))
            #expect(noSuchPartition.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
            let fetchNoSuchPartition = FetchRequest(replicaID: .none, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [
                .init(topic: "orders", partitions: [.init(partition: 7, fetchOffset: 0, partitionMaxBytes: 1 << 20)])])
            #expect(try connection.call(fetchNoSuchPartition, version: 11).responses[0].partitions[0].errorCode
                    == KafkaErrorCode.unknownTopicOrPartition.rawValue)
            let badAcks = try produce(connection, topic: "orders", partition: 0, batch(["x"]), acks: 2)
            #expect(badAcks.errorCode == KafkaErrorCode.invalidRequiredAcks.rawValue)
        }
    }

    @Test func partitionsGrowAndDeletedTopicsLeaveNoFiles() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "grow", partitions: 2) == 0)
            let grown = try connection.call(CreatePartitionsRequest(topics: [.init(name: "grow", count: 4)], timeoutMs: 5000), version: 1)
            #expect(grown.results[0].errorCode == 0)
            let shrink = try connection.call(CreatePartitionsRequest(topics: [.init(name: "grow", count: 3)], timeoutMs: 5000), version: 1)
            #expect(shrink.results[0].errorCode == KafkaErrorCode.invalidPartitions.rawValue)
            #expect(try produce(connection, topic: "grow", partition: 3, batch(["new"])).errorCode == 0)
            let directory = broker.directory + "/topics/grow-3"
            #expect(FileManager.default.fileExists(atPath: directory))
            let deleted = try connection.call(DeleteTopicsRequest(topicNames: ["grow"], timeoutMs: 5000), version: 3)
            #expect(deleted.responses[0].errorCode == 0)
            #expect(!FileManager.default.fileExists(atPath: directory), "a deleted topic's files are removed")
            #expect(try produce(connection, topic: "grow", partition: 0, batch(["gone"])).errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        }
    }

    @Test func idempotentRetriesAreNotAppendedTwice() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "idem", partitions: 1) == 0)
            let pid = try connection.call(InitProducerIdRequest(transactionalID: nil, transactionTimeoutMs: -1), version: 1)
            #expect(pid.errorCode == 0 && pid.producerID.rawValue >= 0)
            let first = batch(["a", "b"], producerID: pid.producerID, sequence: 0)
            #expect(try produce(connection, topic: "idem", partition: 0, first).baseOffset == 0)
            let retry = try produce(connection, topic: "idem", partition: 0, first)
            #expect(retry.errorCode == 0 && retry.baseOffset == 0, "a retried batch gets its original offset")
            #expect(try produce(connection, topic: "idem", partition: 0, batch(["c"], producerID: pid.producerID, sequence: 2)).baseOffset == 2)
            let gap = try produce(connection, topic: "idem", partition: 0, batch(["z"], producerID: pid.producerID, sequence: 9))
            #expect(gap.errorCode == KafkaErrorCode.outOfOrderSequenceNumber.rawValue)
            let end = try connection.call(ListOffsetsRequest(replicaID: .none, topics: [.init(name: "idem", partitions: [.init(partitionIndex: 0, timestamp: -1)])]),
                                          version: 5).topics[0].partitions[0].offset
            #expect(end == 3)
        }
    }

    @Test func fetchWaitsForDataThatArrivesLater() async throws {
        try await TestBroker.withBroker { broker in
            let setup = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(setup, "wait", partitions: 1) == 0)
            // The raw client blocks in recv; run it off the cooperative pool (two threads here),
            // or it would starve the broker it is waiting for.
            let port = broker.port
            async let fetched: FetchResponse = offPool {
                let connection = try RawKafkaConnection(port: port)
                let fetch = FetchRequest(replicaID: .none, maxWaitMs: 10_000, minBytes: 1, maxBytes: 1 << 20, topics: [
                    .init(topic: "wait", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])])
                return try connection.call(fetch, version: 11)
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try produce(setup, topic: "wait", partition: 0, batch(["late"])).errorCode == 0)
            let response = try await fetched
            #expect(response.responses[0].partitions[0].records?.readableBytes ?? 0 > 0, "the waiting fetch returns the new batch")
        }
    }

    @Test func badInputClosesOnlyThatConnectionAndLosesNothing() async throws {
        try await TestBroker.withBroker { broker in
            let good = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(good, "safe", partitions: 1) == 0)
            #expect(try produce(good, topic: "safe", partition: 0, batch(["keep"])).baseOffset == 0)

            let garbage = try RawKafkaConnection(port: broker.port)
            garbage.sendRaw([0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])
            #expect(garbage.isClosedByPeer())

            let huge = try RawKafkaConnection(port: broker.port)
            huge.sendRaw([0x7f, 0xff, 0xff, 0xff, 0, 0])
            #expect(huge.isClosedByPeer(), "a frame claiming 2 GiB is refused")

            let unknownKey = try RawKafkaConnection(port: broker.port)
            var header = ByteBufferAllocator().buffer(capacity: 32)
            RequestHeader(apiKey: 999, apiVersion: 0, correlationID: 1, clientID: "x").encode(into: &header, version: 1)
            unknownKey.sendRaw([0, 0, 0, UInt8(header.readableBytes)] + Array(header.readableBytesView))
            #expect(unknownKey.isClosedByPeer())

            var corrupt = batch(["bad"])
            corrupt.setInteger(UInt8(0x55), at: corrupt.writerIndex - 2)
            let rejected = try produce(good, topic: "safe", partition: 0, corrupt)
            #expect(rejected.errorCode == KafkaErrorCode.corruptMessage.rawValue, "a wrong CRC is CORRUPT_MESSAGE")

            #expect(try produce(good, topic: "safe", partition: 0, batch(["after"])).baseOffset == 1, "the node still serves and lost nothing")
        }
    }
}
