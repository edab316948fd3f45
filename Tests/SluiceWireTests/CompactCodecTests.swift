import NIOCore
import SluiceCore
import Testing

@testable import SluiceWire

/// The flexible-version primitives (KIP-482): unsigned varints, compact lengths (N + 1, 0 =
/// null) and tag buffers, including what a hostile peer can put in them.
@Suite("Compact codec")
struct CompactCodecTests {
    private let context = WireContext(message: "Test", version: 0)
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    @Test("unsigned varints round-trip at every length boundary",
          arguments: [UInt32(0), 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1F_FFFF, 0x20_0000, 0x0FFF_FFFF, 0x1000_0000, .max])
    func unsignedVarintRoundTrip(value: UInt32) throws {
        var buffer = ByteBuffer()
        buffer.writeWireUnsignedVarint(value)
        let expectedLength = value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5
        #expect(buffer.readableBytes == expectedLength)
        #expect(try buffer.readWireUnsignedVarint(context, "v") == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test("compact strings, bytes and records write N + 1 and round-trip; null is 0")
    func compactRoundTrips() throws {
        var buffer = ByteBuffer()
        buffer.writeWireCompactString("ab")
        buffer.writeWireCompactNullableString(nil)
        buffer.writeWireCompactNullableString("")
        buffer.writeWireCompactBytes([9])
        buffer.writeWireCompactNullableBytes(nil)
        buffer.writeWireCompactRecords(ByteBuffer(bytes: [1, 2]))
        buffer.writeWireCompactNullableRecords(nil)
        buffer.writeWireCompactArrayCount(3)
        buffer.writeWireCompactNull()
        buffer.writeWireEmptyTaggedFields()
        #expect(bytes(buffer) == [0x03, 0x61, 0x62, 0x00, 0x01, 0x02, 0x09, 0x00, 0x03, 1, 2, 0x00, 0x04, 0x00, 0x00])
        #expect(try buffer.readWireCompactString(context, "s") == "ab")
        #expect(try buffer.readWireCompactNullableString(context, "s") == nil)
        #expect(try buffer.readWireCompactNullableString(context, "s") == "")
        #expect(try buffer.readWireCompactBytes(context, "b") == [9])
        #expect(try buffer.readWireCompactNullableBytes(context, "b") == nil)
        #expect(try buffer.readWireCompactRecords(context, "r") == ByteBuffer(bytes: [1, 2]))
        #expect(try buffer.readWireCompactNullableRecords(context, "r") == nil)
        // The count 3 claims more one-byte elements than the two bytes left behind it.
        #expect(throws: WireError.self) { _ = try buffer.readWireCompactArrayCount(context, "a", elementBytesMin: 1) }
    }

    @Test("a compact array count is bounded by the remaining bytes; 0 is null only where nullable")
    func compactArrayCounts() throws {
        var ok = ByteBuffer(bytes: [0x03, 0xAA, 0xBB])
        #expect(try ok.readWireCompactArrayCount(context, "a", elementBytesMin: 1) == 2)
        var null = ByteBuffer(bytes: [0x00])
        #expect(try null.readWireCompactNullableArrayCount(context, "a", elementBytesMin: 1) == nil)
        var notNullable = ByteBuffer(bytes: [0x00])
        #expect(throws: WireError.self) { _ = try notNullable.readWireCompactArrayCount(context, "a", elementBytesMin: 1) }
        // 2^28 elements claimed by a 4-byte varint with nothing behind it: refused before allocating.
        var forged = ByteBuffer(bytes: [0x81, 0x80, 0x80, 0x80, 0x01])
        let error = try #require(throws: WireError.self) {
            _ = try forged.readWireCompactArrayCount(context, "a", elementBytesMin: 4)
        }
        guard case .countExceedsRemaining = error.reason else {
            Issue.record("expected countExceedsRemaining, got \(error)")
            return
        }
    }

    @Test("malformed compact lengths throw instead of trapping",
          arguments: [
            [UInt8](),  // no length at all
            [0x05, 0x61],  // claims 4 bytes, has 1
            [0x00],  // null where the string is not nullable
            [0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // fifth varint byte above 0x0F
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // varint longer than 5 bytes
            [0x80],  // varint cut off
            [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // UInt32.max - 1 bytes claimed
          ])
    func malformedCompactLengths(input: [UInt8]) {
        var string = ByteBuffer(bytes: input)
        #expect(throws: WireError.self) { _ = try string.readWireCompactString(context, "s") }
        var bytes = ByteBuffer(bytes: input)
        #expect(throws: WireError.self) { _ = try bytes.readWireCompactBytes(context, "b") }
        var records = ByteBuffer(bytes: input)
        #expect(throws: WireError.self) { _ = try records.readWireCompactRecords(context, "r") }
    }

    @Test("unknown tagged fields are skipped, and a tag larger than what remains throws")
    func unknownTaggedFieldsAreSkipped() throws {
        // Two tags: 0 with 2 bytes, 7 with 1 byte; then a byte that belongs to the next field.
        var buffer = ByteBuffer(bytes: [0x02, 0x00, 0x02, 0xAA, 0xBB, 0x07, 0x01, 0xCC, 0x42])
        try buffer.skipWireStructTaggedFields(context, "_tagged_fields")
        #expect(bytes(buffer) == [0x42])
        var oversized = ByteBuffer(bytes: [0x01, 0x00, 0x05, 0xAA])
        #expect(throws: WireError.self) { try oversized.skipWireStructTaggedFields(context, "_tagged_fields") }
        var tooMany = ByteBuffer()
        tooMany.writeWireUnsignedVarint(UInt32(wireTaggedFieldsCountMax + 1))
        #expect(throws: WireError.self) { try tooMany.skipWireStructTaggedFields(context, "_tagged_fields") }
    }

    @Test("a flexible message skips unknown tags in its body and in nested structs")
    func flexibleMessageSkipsUnknownTags() throws {
        let response = DescribeClusterResponse(
            clusterID: "c", controllerID: 2, brokers: [.init(brokerID: 2, host: "h", port: 9092)])
        var plain = ByteBuffer()
        response.encode(into: &plain, version: 0)
        var tagged = Array(plain.readableBytesView)
        // The broker's tag buffer is the byte before the top-level int32 and tag buffer (last 5 bytes).
        let brokerTags = tagged.count - 6
        #expect(tagged[brokerTags] == 0)
        tagged.replaceSubrange(brokerTags...brokerTags, with: [0x01, 0x03, 0x02, 0xDE, 0xAD])
        tagged.removeLast()
        tagged += [0x01, 0x00, 0x00]  // top level: tag 0, empty
        #expect(try DescribeClusterResponse.decode(exactly: ByteBuffer(bytes: tagged), version: 0) == response)
    }
}
