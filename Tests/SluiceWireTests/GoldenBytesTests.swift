import NIOCore
import SluiceCore
import Testing

@testable import SluiceWire

/// Byte layouts worked out by hand from the Kafka protocol's field lists, so a generator bug
/// that is symmetric (wrong on both encode and decode) still fails here.
@Suite("Golden bytes")
struct GoldenBytesTests {
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    private let twoKeys = ApiVersionsResponse(
        errorCode: 0,
        apiKeys: [.init(apiKey: 0, minVersion: 0, maxVersion: 8), .init(apiKey: 18, minVersion: 0, maxVersion: 2)],
        throttleTimeMs: 100)

    @Test("ApiVersions response v0: error, then the key array; no throttle time")
    func apiVersionsResponseV0() throws {
        let expected: [UInt8] = [
            0x00, 0x00,  // error_code 0
            0x00, 0x00, 0x00, 0x02,  // api_keys count 2
            0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // Produce 0...8
            0x00, 0x12, 0x00, 0x00, 0x00, 0x02,  // ApiVersions 0...2
        ]
        #expect(bytes(twoKeys.encoded(version: 0)) == expected)
        var decoded = try ApiVersionsResponse.decode(exactly: ByteBuffer(bytes: expected), version: 0)
        decoded.throttleTimeMs = 100
        #expect(decoded == twoKeys)
    }

    @Test("AlterPartition request v0 (internal key 10103): topic, ids, incarnation, epochs, ISR")
    func alterPartitionRequestV0() throws {
        let request = AlterPartitionRequest(
            topic: "t", partition: 2, leaderID: 1, leaderIncarnation: KafkaUUID(high: 5, low: 6), leaderEpoch: 3,
            partitionEpoch: 4, newIsr: [1, 3])
        let expected: [UInt8] = [
            0x00, 0x01, 0x74,  // topic "t"
            0x00, 0x00, 0x00, 0x02,  // partition 2
            0x00, 0x00, 0x00, 0x01,  // leader id 1
            0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6,  // leader incarnation
            0x00, 0x00, 0x00, 0x03,  // leader epoch 3
            0x00, 0x00, 0x00, 0x04,  // partition epoch 4
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03,  // new ISR [1, 3]
        ]
        #expect(bytes(request.encoded(version: 0)) == expected)
        #expect(try AlterPartitionRequest.decode(exactly: ByteBuffer(bytes: expected), version: 0) == request)
    }

    @Test("ReplicaDamaged request v0 (internal key 10104): topic, replica, incarnation, epochs, reason")
    func replicaDamagedRequestV0() throws {
        let request = ReplicaDamagedRequest(
            topic: "t", partition: 2, replicaID: 3, replicaIncarnation: KafkaUUID(high: 5, low: 6), leaderEpoch: 7,
            partitionEpoch: 8, reason: "crc")
        let expected: [UInt8] = [
            0x00, 0x01, 0x74,  // topic "t"
            0x00, 0x00, 0x00, 0x02,  // partition 2
            0x00, 0x00, 0x00, 0x03,  // replica id 3
            0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6,  // replica incarnation
            0x00, 0x00, 0x00, 0x07,  // leader epoch 7
            0x00, 0x00, 0x00, 0x08,  // partition epoch 8
            0x00, 0x03, 0x63, 0x72, 0x63,  // reason "crc"
        ]
        #expect(ReplicaDamagedRequest.apiKey == 10104)
        #expect(bytes(request.encoded(version: 0)) == expected)
        #expect(try ReplicaDamagedRequest.decode(exactly: ByteBuffer(bytes: expected), version: 0) == request)
        let refused = ReplicaDamagedResponse(errorCode: 83, errorMessage: nil)
        #expect(bytes(refused.encoded(version: 0)) == [
            0x00, 0x53,  // error_code 83 ELIGIBLE_LEADERS_NOT_AVAILABLE
            0xFF, 0xFF,  // error_message null
            0xFF, 0xFF, 0xFF, 0xFF,  // leader id -1
            0xFF, 0xFF, 0xFF, 0xFF,  // leader epoch -1
            0xFF, 0xFF, 0xFF, 0xFF,  // partition epoch -1
            0x00, 0x00, 0x00, 0x00,  // empty ISR
        ])
    }

    @Test("AlterPartition response v0: error, nullable message, leader, epochs, ISR")
    func alterPartitionResponseV0() throws {
        let refused = AlterPartitionResponse(errorCode: 95, errorMessage: "x")
        #expect(bytes(refused.encoded(version: 0)) == [
            0x00, 0x5F,  // error_code 95 INVALID_UPDATE_VERSION
            0x00, 0x01, 0x78,  // error_message "x"
            0xFF, 0xFF, 0xFF, 0xFF,  // leader id -1
            0xFF, 0xFF, 0xFF, 0xFF,  // leader epoch -1
            0xFF, 0xFF, 0xFF, 0xFF,  // partition epoch -1
            0x00, 0x00, 0x00, 0x00,  // empty ISR
        ])
        let accepted = AlterPartitionResponse(leaderID: 1, leaderEpoch: 0, partitionEpoch: 7, isr: [1])
        #expect(bytes(accepted.encoded(version: 0)) == [
            0x00, 0x00, 0xFF, 0xFF,  // no error, null message
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // ISR [1]
        ])
    }

    @Test("BrokerHeartbeat request v0 ends with clean_shutdown")
    func brokerHeartbeatRequestV0() {
        let request = BrokerHeartbeatRequest(
            nodeID: 1, incarnation: KafkaUUID(high: 0, low: 1), clientHost: "h", clientPort: 9092, interNodeHost: "h",
            interNodePort: 9093, cleanShutdown: false)
        #expect(bytes(request.encoded(version: 0)) == [
            0x00, 0x00, 0x00, 0x01,  // node id 1
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // incarnation
            0x00, 0x01, 0x68, 0x00, 0x00, 0x23, 0x84,  // client "h":9092
            0x00, 0x01, 0x68, 0x00, 0x00, 0x23, 0x85,  // inter-node "h":9093
            0x00,  // clean_shutdown false
        ])
        #expect(BrokerHeartbeatRequest().cleanShutdown)  // the default, as before the field existed
    }

    @Test("ApiVersions response v1 and v2 append throttle_time_ms", arguments: [Int16(1), 2])
    func apiVersionsResponseV1V2(version: Int16) throws {
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
            0x00, 0x12, 0x00, 0x00, 0x00, 0x02,
            0x00, 0x00, 0x00, 0x64,  // throttle_time_ms 100
        ]
        #expect(bytes(twoKeys.encoded(version: version)) == expected)
        #expect(try ApiVersionsResponse.decode(exactly: ByteBuffer(bytes: expected), version: version) == twoKeys)
    }

    @Test("the ApiVersions fallback is header v0 + v0 body with error 35 and {18, 0, 3}")
    func apiVersionsFallbackBytes() {
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x07,  // correlation_id 7
            0x00, 0x23,  // error_code 35 UNSUPPORTED_VERSION
            0x00, 0x00, 0x00, 0x01,  // one entry
            0x00, 0x12, 0x00, 0x00, 0x00, 0x03,  // ApiVersions 0...3
        ]
        #expect(bytes(SupportedAPIs.apiVersionsFallback(correlationID: 7)) == expected)
    }

    @Test("Metadata v1 request frame: size, header v1 with client id, topic array")
    func metadataV1RequestFrame() throws {
        let frame: [UInt8] = [
            0x00, 0x00, 0x00, 0x17,  // size 23
            0x00, 0x03, 0x00, 0x01,  // Metadata v1
            0x00, 0x00, 0x00, 0x2A,  // correlation_id 42
            0x00, 0x04, 0x6B, 0x63, 0x61, 0x74,  // client_id "kcat"
            0x00, 0x00, 0x00, 0x01,  // one topic
            0x00, 0x03, 0x66, 0x6F, 0x6F,  // "foo"
        ]
        var stream = ByteBuffer(bytes: frame)
        let payload = try #require(try KafkaFrameParser().nextFrame(from: &stream))
        let decoded = try RequestDecoder.decode(frame: payload)
        #expect(decoded.header == RequestHeader(apiKey: 3, apiVersion: 1, correlationID: 42, clientID: "kcat"))
        #expect(decoded.request == .metadata(MetadataRequest(topics: [.init(name: "foo")])))

        var encoded = ByteBuffer()
        decoded.header.encode(into: &encoded, version: 1)
        decoded.request.encode(into: &encoded, version: 1)
        var framed = ByteBuffer()
        try KafkaFrameEncoder().encode(data: encoded, out: &framed)
        #expect(bytes(framed) == frame)
    }

    @Test("Metadata v1 request with null topics means all topics: count -1")
    func metadataV1NullTopics() throws {
        #expect(bytes(MetadataRequest(topics: nil).encoded(version: 1)) == [0xFF, 0xFF, 0xFF, 0xFF])
        let decoded = try MetadataRequest.decode(exactly: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]), version: 1)
        #expect(decoded.topics == nil)
    }

    @Test("Produce v3 request: header v1, null transactional id, acks -1, one partition of records")
    func produceV3Request() throws {
        let payload: [UInt8] = [
            0x00, 0x00, 0x00, 0x03,  // Produce v3
            0x00, 0x00, 0x00, 0x05,  // correlation_id 5
            0xFF, 0xFF,  // client_id null
            0xFF, 0xFF,  // transactional_id null
            0xFF, 0xFF,  // acks -1
            0x00, 0x00, 0x75, 0x30,  // timeout_ms 30000
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // one partition, index 2
            0x00, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC,  // records: 3 opaque bytes
        ]
        let decoded = try RequestDecoder.decode(frame: ByteBuffer(bytes: payload))
        #expect(decoded.header == RequestHeader(apiKey: 0, apiVersion: 3, correlationID: 5, clientID: nil))
        let expected = ProduceRequest(
            transactionalID: nil, acks: -1, timeoutMs: 30000,
            topicData: [.init(name: "t", partitionData: [.init(index: 2, records: ByteBuffer(bytes: [0xAA, 0xBB, 0xCC]))])])
        #expect(decoded.request == .produce(expected))
        #expect(bytes(expected.encoded(version: 3)) == Array(payload[10...]))
    }

    @Test("Produce v8 response: per-partition record errors and error message, then throttle")
    func produceV8Response() throws {
        let response = ProduceResponse(
            responses: [.init(name: "t", partitionResponses: [
                .init(index: 0, errorCode: 87, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: 10,
                      recordErrors: [.init(batchIndex: 1, batchIndexErrorMessage: nil)], errorMessage: "bad")
            ])],
            throttleTimeMs: 0)
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01,  // one partition
            0x00, 0x00, 0x00, 0x00,  // index 0
            0x00, 0x57,  // error 87 INVALID_RECORD
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // base_offset -1
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // log_append_time_ms -1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,  // log_start_offset 10
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF,  // record_errors [{1, null}]
            0x00, 0x03, 0x62, 0x61, 0x64,  // error_message "bad"
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
        ]
        #expect(bytes(response.encoded(version: 8)) == expected)
        #expect(try ProduceResponse.decode(exactly: ByteBuffer(bytes: expected), version: 8) == response)
    }

    @Test("a response frame payload is header v0 then the body")
    func responseEncoderWritesHeaderV0() {
        let header = RequestHeader(apiKey: 12, apiVersion: 1, correlationID: 9, clientID: "c")
        let payload = ResponseEncoder.encode(HeartbeatResponse(throttleTimeMs: 3, errorCode: 27), answering: header)
        #expect(bytes(payload) == [0, 0, 0, 9, 0, 0, 0, 3, 0, 0x1B])
        #expect(bytes(ResponseEncoder.encode(.heartbeat(HeartbeatResponse(errorCode: 27)), answering: header))
            == [0, 0, 0, 9, 0, 0, 0, 0, 0, 0x1B])
    }

    @Test("headers: request v2 ends with a tag buffer, response v1 with an empty one")
    func flexibleHeaders() throws {
        var request = ByteBuffer()
        RequestHeader(apiKey: 18, apiVersion: 3, correlationID: 1, clientID: "a").encode(into: &request, version: 2)
        #expect(bytes(request) == [0, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0x61, 0])
        var response = ByteBuffer()
        ResponseHeader(correlationID: 1).encode(into: &response, version: 1)
        #expect(bytes(response) == [0, 0, 0, 1, 0])
        var tagged = ByteBuffer(bytes: [0, 0, 0, 1, 0x02, 0x00, 0x01, 0xEE, 0x05, 0x00])
        #expect(try ResponseHeader(from: &tagged, version: 1) == ResponseHeader(correlationID: 1))
        #expect(tagged.readableBytes == 0)
    }

    @Test("consumer protocol subscription v0 and assignment v0 behind their version prefix")
    func consumerProtocolV0() throws {
        let subscription = ConsumerProtocolSubscription(topics: ["t1"], userData: nil)
        let subscriptionBytes: [UInt8] = [
            0x00, 0x00,  // version 0
            0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x74, 0x31,  // topics ["t1"]
            0xFF, 0xFF, 0xFF, 0xFF,  // user_data null
        ]
        #expect(subscription.encodedVersionPrefixed(version: 0) == subscriptionBytes)
        #expect(try ConsumerProtocolSubscription.decodeVersionPrefixed(subscriptionBytes).message == subscription)

        let assignment = ConsumerProtocolAssignment(
            assignedPartitions: [.init(topic: "t1", partitions: [0, 2])], userData: [])
        let assignmentBytes: [UInt8] = [
            0x00, 0x00,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x74, 0x31,  // one topic "t1"
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // [0, 2]
            0x00, 0x00, 0x00, 0x00,  // user_data empty
        ]
        #expect(assignment.encodedVersionPrefixed(version: 0) == assignmentBytes)
        let decoded = try ConsumerProtocolAssignment.decodeVersionPrefixed(assignmentBytes)
        #expect(decoded.message.assignedPartitions[0].partitions == [PartitionIndex(0), PartitionIndex(2)])
    }

    @Test("a newer consumer protocol version is read with the newest known layout")
    func consumerProtocolNewerVersion() throws {
        var bytes = ConsumerProtocolSubscription(topics: ["a"], userData: nil, ownedPartitions: [],
                                                 generationID: 4, rackID: "r").encodedVersionPrefixed(version: 3)
        bytes[1] = 9  // claim v9, and append a field v3 does not know
        bytes += [0x01, 0x02]
        let decoded = try ConsumerProtocolSubscription.decodeVersionPrefixed(bytes)
        #expect(decoded.version == 9)
        #expect(decoded.message.rackID == "r")
        #expect(decoded.message.generationID == GenerationID(4))
    }

    // MARK: flexible versions

    @Test("DescribeCluster request v0 (flexible): include_cluster_authorized_operations, tag buffer")
    func describeClusterRequestV0() throws {
        let request = DescribeClusterRequest(includeClusterAuthorizedOperations: true)
        let expected: [UInt8] = [
            0x01,  // include_cluster_authorized_operations true
            0x00,  // empty tag buffer
        ]
        #expect(bytes(request.encoded(version: 0)) == expected)
        #expect(try DescribeClusterRequest.decode(exactly: ByteBuffer(bytes: expected), version: 0) == request)
        // The frame: request header v2 (INT16-length client id, then a tag buffer).
        var frame = ByteBuffer(bytes: [0x00, 0x3C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x63, 0x00])
        frame.writeBytes(expected)
        let decoded = try RequestDecoder.decode(frame: frame)
        #expect(decoded.header == RequestHeader(apiKey: 60, apiVersion: 0, correlationID: 5, clientID: "c"))
        #expect(decoded.request == .describeCluster(request))
    }

    @Test("DescribeCluster response v0 (flexible): compact strings and array, tag buffers, header v1")
    func describeClusterResponseV0() throws {
        let response = DescribeClusterResponse(
            clusterID: "sluice", controllerID: 2,
            brokers: [.init(brokerID: 1, host: "h1", port: 9092), .init(brokerID: 2, host: "h2", port: 9094, rack: "r")])
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms 0
            0x00, 0x00,  // error_code 0
            0x00,  // error_message null (compact nullable: 0)
            0x07, 0x73, 0x6C, 0x75, 0x69, 0x63, 0x65,  // cluster_id "sluice" (length 6 + 1)
            0x00, 0x00, 0x00, 0x02,  // controller_id 2
            0x03,  // brokers: 2 + 1
            0x00, 0x00, 0x00, 0x01, 0x03, 0x68, 0x31, 0x00, 0x00, 0x23, 0x84, 0x00, 0x00,  // 1 "h1":9092 rack null, tags
            0x00, 0x00, 0x00, 0x02, 0x03, 0x68, 0x32, 0x00, 0x00, 0x23, 0x86, 0x02, 0x72, 0x00,  // 2 "h2":9094 rack "r", tags
            0x80, 0x00, 0x00, 0x00,  // cluster_authorized_operations: not requested (INT32 min)
            0x00,  // empty tag buffer
        ]
        #expect(bytes(response.encoded(version: 0)) == expected)
        #expect(try DescribeClusterResponse.decode(exactly: ByteBuffer(bytes: expected), version: 0) == response)
        let header = RequestHeader(apiKey: 60, apiVersion: 0, correlationID: 5, clientID: "c")
        // Response header v1: correlation id, then an empty tag buffer.
        #expect(bytes(ResponseEncoder.encode(response, answering: header)) == [0, 0, 0, 5, 0] + expected)
    }

    // MARK: admin APIs

    @Test("IncrementalAlterConfigs request v0: resources (type, name, configs with operation), validate_only")
    func incrementalAlterConfigsRequestV0() throws {
        let request = IncrementalAlterConfigsRequest(
            resources: [.init(resourceType: 2, resourceName: "t", configs: [
                .init(name: "a", configOperation: 0, value: "1"), .init(name: "b", configOperation: 1, value: nil),
            ])],
            validateOnly: true)
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x01,  // resources count 1
            0x02,  // resource_type TOPIC
            0x00, 0x01, 0x74,  // resource_name "t"
            0x00, 0x00, 0x00, 0x02,  // configs count 2
            0x00, 0x01, 0x61, 0x00, 0x00, 0x01, 0x31,  // "a", SET, "1"
            0x00, 0x01, 0x62, 0x01, 0xFF, 0xFF,  // "b", DELETE, null
            0x01,  // validate_only
        ]
        #expect(bytes(request.encoded(version: 0)) == expected)
        #expect(try IncrementalAlterConfigsRequest.decode(exactly: ByteBuffer(bytes: expected), version: 0) == request)
    }

    @Test("AlterConfigs response v0 and v1: throttle, then per resource error, message, type, name", arguments: [Int16(0), 1])
    func alterConfigsResponse(version: Int16) throws {
        let response = AlterConfigsResponse(
            throttleTimeMs: 0, responses: [.init(errorCode: 40, errorMessage: "x", resourceType: 2, resourceName: "t")])
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00, 0x00, 0x00, 0x01,  // one resource
            0x00, 0x28,  // INVALID_CONFIG
            0x00, 0x01, 0x78,  // error_message "x"
            0x02, 0x00, 0x01, 0x74,  // TOPIC "t"
        ]
        #expect(bytes(response.encoded(version: version)) == expected)
    }

    @Test("DeleteRecords request v1 and response v1: offsets in, low watermarks out")
    func deleteRecordsV1() throws {
        let request = DeleteRecordsRequest(topics: [.init(name: "t", partitions: [.init(partitionIndex: 1, offset: -1)])], timeoutMs: 500)
        let requestBytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // one partition: 1
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // offset -1 (the high watermark)
            0x00, 0x00, 0x01, 0xF4,  // timeout_ms 500
        ]
        #expect(bytes(request.encoded(version: 1)) == requestBytes)
        let response = DeleteRecordsResponse(
            throttleTimeMs: 0, topics: [.init(name: "t", partitions: [.init(partitionIndex: 1, lowWatermark: 60, errorCode: 0)])])
        let responseBytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // one partition: 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3C,  // low_watermark 60
            0x00, 0x00,  // error_code
        ]
        #expect(bytes(response.encoded(version: 1)) == responseBytes)
        #expect(try DeleteRecordsResponse.decode(exactly: ByteBuffer(bytes: responseBytes), version: 1) == response)
    }

    @Test("DeleteGroups response v1 and OffsetDelete response v0")
    func groupDeletionResponses() throws {
        let deleted = DeleteGroupsResponse(throttleTimeMs: 0, results: [.init(groupID: "g", errorCode: 68)])
        #expect(bytes(deleted.encoded(version: 1)) == [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x67, 0x00, 0x44,  // "g": NON_EMPTY_GROUP
        ])
        let offsets = OffsetDeleteResponse(
            errorCode: 0, throttleTimeMs: 0, topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, errorCode: 86)])])
        #expect(bytes(offsets.encoded(version: 0)) == [
            0x00, 0x00,  // error_code (top level, before the throttle time)
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x56,  // partition 0: GROUP_SUBSCRIBED_TO_TOPIC
        ])
    }

    @Test("DescribeLogDirs request v1 with null topics (all), and a response with one partition")
    func describeLogDirsV1() throws {
        #expect(bytes(DescribeLogDirsRequest(topics: nil).encoded(version: 1)) == [0xFF, 0xFF, 0xFF, 0xFF])
        let response = DescribeLogDirsResponse(throttleTimeMs: 0, results: [
            .init(errorCode: 0, logDir: "/d", topics: [
                .init(name: "t", partitions: [.init(partitionIndex: 0, partitionSize: 256, offsetLag: 0, isFutureKey: false)]),
            ]),
        ])
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x2F, 0x64,  // one dir: error 0, "/d"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74,  // one topic "t"
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  // one partition: 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,  // partition_size 256
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // offset_lag 0
            0x00,  // is_future_key
        ]
        #expect(bytes(response.encoded(version: 1)) == expected)
        #expect(try DescribeLogDirsResponse.decode(exactly: ByteBuffer(bytes: expected), version: 1) == response)
    }
}
