import NIOCore
import SluiceCore
import Testing

@testable import SluiceWire

@Suite("Every message round-trips at every version")
struct RoundTripTests {
    static let samplesPerVersion = 25

    @Test("decode(encode(x)) == x and re-encoding gives the same bytes", arguments: MessageCase.all)
    func randomValuesRoundTrip(_ message: MessageCase) throws {
        try roundTrip(message.type)
    }

    private func roundTrip<M: ArbitraryWireMessage>(_ type: M.Type) throws {
        var rng = SeededGenerator(seed: 0x5EED_0001, salt: "\(M.self)")
        for version in M.versions {
            for sample in 0..<Self.samplesPerVersion {
                let value = M.arbitrary(version: version, using: &rng)
                let bytes = value.encoded(version: version)
                let decoded = try M.decode(exactly: bytes, version: version)
                #expect(decoded == value, "\(M.self) v\(version) sample \(sample)")
                #expect(decoded.encoded(version: version) == bytes, "\(M.self) v\(version) sample \(sample)")
            }
        }
    }

    @Test("every proper prefix of a valid encoding is rejected as truncated", arguments: MessageCase.all)
    func everyPrefixIsRejected(_ message: MessageCase) {
        prefixes(message.type)
    }

    private func prefixes<M: ArbitraryWireMessage>(_ type: M.Type) {
        var rng = SeededGenerator(seed: 0x5EED_0002, salt: "\(M.self)")
        for version in M.versions {
            for _ in 0..<3 {
                let bytes = M.arbitrary(version: version, using: &rng).encoded(version: version)
                for length in 0..<bytes.readableBytes {
                    var prefix = bytes.getSlice(at: bytes.readerIndex, length: length)!
                    #expect(throws: WireError.self, "\(M.self) v\(version) prefix \(length)") {
                        _ = try M(from: &prefix, version: version)
                    }
                }
            }
        }
    }

    @Test("a version outside the message's range is refused with unsupportedVersion")
    func versionOutsideRangeIsRefused() {
        var buffer = ByteBuffer()
        #expect(throws: WireError(.unsupportedVersion, message: "ProduceRequest", field: "", version: 9)) {
            _ = try ProduceRequest(from: &buffer, version: 9)
        }
        #expect(throws: WireError(.unsupportedVersion, message: "ApiVersionsRequest", field: "", version: 4)) {
            _ = try ApiVersionsRequest(from: &buffer, version: 4)
        }
    }

    @Test("fields absent from a version are not written, and decode to their defaults")
    func absentFieldsTakeDefaults() throws {
        let request = FetchRequest(
            replicaID: 2, maxWaitMs: 500, minBytes: 1, maxBytes: 1000, isolationLevel: 1,
            sessionID: 7, sessionEpoch: 3, topics: [], forgottenTopicsData: [], rackID: "r1")
        let v0 = try FetchRequest.decode(exactly: request.encoded(version: 0), version: 0)
        #expect(v0.maxBytes == 0x7fff_ffff)  // the definition's default
        #expect(v0.sessionEpoch == -1)
        #expect(v0.rackID == "")
        #expect(v0.replicaID == NodeID(2))
        #expect(request.encoded(version: 0).readableBytes == 4 + 4 + 4 + 4)
    }

    @Test("nil in a version where the field cannot be null is written as the empty value")
    func nilInNonNullableVersionIsWrittenEmpty() throws {
        // Metadata v0 has no null topic list; its empty list means "all topics", like null in v1+.
        let request = MetadataRequest(topics: nil)
        #expect(Array(request.encoded(version: 0).readableBytesView) == [0, 0, 0, 0])
        #expect(Array(request.encoded(version: 1).readableBytesView) == [0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test("records stay a slice of the frame, not a copy")
    func recordsAreOpaqueSlices() throws {
        let batch = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        let request = ProduceRequest(
            transactionalID: nil, acks: -1, timeoutMs: 1000,
            topicData: [.init(name: "t", partitionData: [.init(index: 3, records: batch)])])
        let decoded = try ProduceRequest.decode(exactly: request.encoded(version: 8), version: 8)
        #expect(decoded.topicData[0].partitionData[0].records == batch)
        #expect(decoded.topicData[0].partitionData[0].index == PartitionIndex(3))
    }

    @Test("a string longer than Kafka's 32767 bytes is cut at a character boundary, not trapped on")
    func overlongStringIsCut() throws {
        let long = String(repeating: "a", count: 32766) + "é" + "tail"  // é straddles the limit
        let response = JoinGroupResponse(memberID: long)
        let decoded = try JoinGroupResponse.decode(exactly: response.encoded(version: 5), version: 5)
        #expect(decoded.memberID == String(repeating: "a", count: 32766))
    }
}
