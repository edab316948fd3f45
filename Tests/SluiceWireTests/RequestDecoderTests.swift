import NIOCore
import SluiceCore
import Testing

@testable import SluiceWire

@Suite("Request decoding")
struct RequestDecoderTests {
    private func payload(key: Int16, version: Int16, correlation: Int32 = 11, body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        RequestHeader(apiKey: key, apiVersion: version, correlationID: correlation, clientID: "test")
            .encode(into: &buffer, version: 1)
        buffer.writeBytes(body)
        return buffer
    }

    /// librdkafka's first request: header v2 (client_id keeps its INT16 length, then an empty
    /// tag buffer), then the v3 body: compact strings "librdkafka" and "2.0.2", an empty tag buffer.
    private func librdkafkaApiVersions(version: Int16) -> ByteBuffer {
        var frame = ByteBuffer(bytes: [0x00, 0x12, 0x00, UInt8(version), 0x00, 0x00, 0x00, 0x01, 0x00, 0x07])
        frame.writeString("rdkafka")
        frame.writeBytes([0x00, 0x0B])
        frame.writeString("librdkafka")
        frame.writeBytes([0x06])
        frame.writeString("2.0.2")
        frame.writeBytes([0x00])
        return frame
    }

    @Test("librdkafka's flexible ApiVersions v3 decodes: header v2, compact strings, tag buffers")
    func apiVersionsV3Decodes() throws {
        let decoded = try RequestDecoder.decode(frame: librdkafkaApiVersions(version: 3))
        #expect(decoded.header == RequestHeader(apiKey: 18, apiVersion: 3, correlationID: 1, clientID: "rdkafka"))
        #expect(decoded.request == .apiVersions(
            ApiVersionsRequest(clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2")))
        // The answer keeps response header v0 (KIP-511) and is a flexible v3 body.
        let answer = ResponseEncoder.encode(
            ApiVersionsResponse(apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 3)]), answering: decoded.header)
        #expect(Array(answer.readableBytesView) == [
            0, 0, 0, 1,  // correlation_id, no tag buffer (header v0)
            0, 0,  // error_code
            0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,  // compact array of one {18, 0, 3} + its tags
            0, 0, 0, 0,  // throttle_time_ms
            0x00,  // the body's empty tag buffer
        ])
    }

    @Test("ApiVersions v4 is an unsupported version with its correlation id, answered by the fallback")
    func apiVersionsV4IsUnsupported() throws {
        let error = try #require(throws: RequestDecodingError.self) {
            try RequestDecoder.decode(frame: librdkafkaApiVersions(version: 4))
        }
        guard case .unsupportedVersion(let header, let supported) = error else {
            Issue.record("expected unsupportedVersion, got \(error)")
            return
        }
        #expect(header == RequestHeader(apiKey: 18, apiVersion: 4, correlationID: 1, clientID: "rdkafka"))
        #expect(supported == 0...3)
        let answer = SupportedAPIs.apiVersionsFallback(correlationID: header.correlationID)
        var reader = answer
        #expect(try ResponseHeader(from: &reader, version: 0).correlationID == 1)
        let body = try ApiVersionsResponse.decode(exactly: reader, version: 0)
        #expect(body.errorCode == KafkaErrorCode.unsupportedVersion.rawValue)
    }

    @Test("ApiVersions v0-v2 requests decode to the typed request", arguments: [Int16(0), 1, 2])
    func apiVersionsV0ToV2Decode(version: Int16) throws {
        let decoded = try RequestDecoder.decode(frame: payload(key: 18, version: version, body: []))
        #expect(decoded.request == .apiVersions(ApiVersionsRequest()))
        #expect(decoded.header.apiVersion == version)
    }

    @Test("an unknown API key is reported as such, with its header")
    func unknownAPIKey() {
        #expect(throws: RequestDecodingError.unknownAPIKey(
            RequestHeader(apiKey: 999, apiVersion: 0, correlationID: 11, clientID: "test"))) {
            try RequestDecoder.decode(frame: payload(key: 999, version: 0, body: []))
        }
    }

    @Test("a version above the maximum is unsupported, not malformed")
    func versionAboveMaximum() {
        #expect(throws: RequestDecodingError.unsupportedVersion(
            RequestHeader(apiKey: 0, apiVersion: 9, correlationID: 11, clientID: "test"), supported: 0...8)) {
            try RequestDecoder.decode(frame: payload(key: 0, version: 9, body: []))
        }
    }

    @Test("a body cut short is malformed and names the message, field and version")
    func truncatedBodyIsMalformed() throws {
        let error = try #require(throws: RequestDecodingError.self) {
            try RequestDecoder.decode(frame: payload(key: 12, version: 0, body: [0, 1, 0x67, 0, 0]))
        }
        guard case .malformedBody(let header, let wire) = error else {
            Issue.record("expected malformedBody, got \(error)")
            return
        }
        #expect(header.correlationID == 11)
        #expect(wire == WireError(.truncated(needed: 4, available: 2), message: "HeartbeatRequest",
                                  field: "GenerationId", version: 0))
        #expect("\(error)".contains("HeartbeatRequest v0 field GenerationId"))
    }

    @Test("bytes after the last field are malformed")
    func trailingBytesAreMalformed() {
        #expect(throws: RequestDecodingError.self) {
            try RequestDecoder.decode(frame: payload(key: 16, version: 0, body: [0]))
        }
    }

    @Test("a frame too short for a header is a malformed header")
    func shortHeader() {
        #expect(throws: RequestDecodingError.malformedHeader(
            WireError(.truncated(needed: 4, available: 2), message: "RequestHeader", field: "CorrelationId", version: 1))) {
            try RequestDecoder.decode(frame: ByteBuffer(bytes: [0, 3, 0, 1, 0, 0]))
        }
    }

    @Test("an array count larger than the frame could hold is refused before allocating")
    func hugeCountIsRefused() throws {
        // Metadata v1 claiming 2^31-1 topics in a 4-byte body.
        let error = try #require(throws: RequestDecodingError.self) {
            try RequestDecoder.decode(frame: payload(key: 3, version: 1, body: [0x7F, 0xFF, 0xFF, 0xFF]))
        }
        guard case .malformedBody(_, let wire) = error else {
            Issue.record("expected malformedBody, got \(error)")
            return
        }
        #expect(wire.reason == .countExceedsRemaining(count: Int(Int32.max), elementBytesMin: 2, available: 0))
    }

    @Test("a string length past the end is truncated; -2 is an invalid length")
    func badStringLengths() {
        #expect(throws: RequestDecodingError.self) {
            try RequestDecoder.decode(frame: payload(key: 10, version: 0, body: [0x7F, 0xFF, 0x61]))
        }
        var bad = ByteBuffer(bytes: [0xFF, 0xFE])
        #expect(throws: WireError(.invalidLength(-2), message: "FindCoordinatorRequest", field: "Key", version: 0)) {
            _ = try FindCoordinatorRequest(from: &bad, version: 0)
        }
        var null = ByteBuffer(bytes: [0xFF, 0xFF])
        #expect(throws: WireError(.invalidLength(-1), message: "FindCoordinatorRequest", field: "Key", version: 0)) {
            _ = try FindCoordinatorRequest(from: &null, version: 0)
        }
    }

    /// Kafka requests only: internal RPCs (keys ≥ 10000, `raft.wire`, `broker.wire`) are never
    /// decoded by `RequestDecoder`; the inter-node listener routes them by key.
    @Test("every request enum case round-trips through a frame payload", arguments: MessageCase.all.filter {
        guard let request = $0.type as? any APIRequest.Type else { return false }
        return request.apiKey < 10_000
    })
    func requestsRoundTripThroughTheDecoder(_ message: MessageCase) throws {
        try viaDecoder(message.type)
    }

    private func viaDecoder<M: ArbitraryWireMessage>(_ type: M.Type) throws {
        var rng = SeededGenerator(seed: 0x5EED_0003, salt: "\(M.self)")
        let key = (M.self as! any APIRequest.Type).apiKey
        for version in M.versions {
            let value = M.arbitrary(version: version, using: &rng)
            var frame = ByteBuffer()
            RequestHeader(apiKey: key, apiVersion: version, correlationID: 3, clientID: nil)
                .encode(into: &frame, version: RequestHeader.version(apiKey: key, apiVersion: version))
            value.encode(into: &frame, version: version)
            let decoded = try RequestDecoder.decode(frame: frame)
            var reencoded = ByteBuffer()
            decoded.request.encode(into: &reencoded, version: version)
            #expect(reencoded == value.encoded(version: version))
            #expect(decoded.request.apiKey == key)
        }
    }
}
