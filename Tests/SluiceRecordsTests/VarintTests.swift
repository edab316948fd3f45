import NIOCore
import Testing

@testable import SluiceRecords

@Suite struct VarintTests {
    /// CLIENTS.md §2 vectors (Kafka's ByteUtilsTest agrees).
    static let zigzagVectors: [(Int32, [UInt8])] = [
        (0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (63, [0x7E]), (64, [0x80, 0x01]),
        (300, [0xD8, 0x04]), (-300, [0xD7, 0x04]),
        (Int32.max, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]), (Int32.min, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    ]

    @Test(arguments: zigzagVectors)
    func varIntEncodesKafkaVectors(value: Int32, encoded: [UInt8]) throws {
        var buffer = ByteBuffer()
        #expect(buffer.writeVarInt(value) == encoded.count)
        #expect(Array(buffer.readableBytesView) == encoded)
        #expect(try buffer.readVarInt() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: zigzagVectors)
    func varLongEncodesTheSameBytesAsVarIntForIntValues(value: Int32, encoded: [UInt8]) throws {
        var buffer = ByteBuffer()
        buffer.writeVarLong(Int64(value))
        #expect(Array(buffer.readableBytesView) == encoded)
        #expect(ByteBuffer.varLongLength(Int64(value)) == encoded.count)
        #expect(try buffer.readVarLong() == Int64(value))
    }

    @Test func varLongRoundTripsExtremesAndRandomValues() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Int64] = [0, -1, 1, Int64.max, Int64.min, 1 << 35, -(1 << 35)]
        for _ in 0..<2000 { values.append(Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...63)) }
        for value in values {
            var buffer = ByteBuffer()
            let written = buffer.writeVarLong(value)
            #expect(written == ByteBuffer.varLongLength(value))
            #expect(written <= 10)
            #expect(try buffer.readVarLong() == value)
        }
        var buffer = ByteBuffer()
        #expect(buffer.writeVarLong(Int64.min) == 10)
    }

    @Test func unsignedVarIntHasNoZigzag() throws {
        let vectors: [(UInt32, [UInt8])] = [(0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]),
                                            (300, [0xAC, 0x02]), (UInt32.max, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])]
        for (value, encoded) in vectors {
            var buffer = ByteBuffer()
            buffer.writeUnsignedVarInt(value)
            #expect(Array(buffer.readableBytesView) == encoded)
            #expect(try buffer.readUnsignedVarInt() == value)
        }
    }

    @Test func varIntLongerThanFiveBytesIsRejected() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: VarintError.overlong(bytesMax: 5)) { try buffer.readVarInt() }
        #expect(buffer.readerIndex == 0, "a failed read consumes nothing")
    }

    @Test func varIntWhoseFifthByteOverflowsThirtyTwoBitsIsRejected() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: VarintError.overlong(bytesMax: 5)) { try buffer.readVarInt() }
    }

    @Test func varLongLongerThanTenBytesIsRejected() {
        var buffer = ByteBuffer(bytes: [UInt8](repeating: 0x80, count: 10) + [0x01])
        #expect(throws: VarintError.overlong(bytesMax: 10)) { try buffer.readVarLong() }
        var overflow = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 9) + [0x02])
        #expect(throws: VarintError.overlong(bytesMax: 10)) { try overflow.readVarLong() }
    }

    @Test func truncatedVarintIsRejectedWithoutConsuming() {
        var buffer = ByteBuffer(bytes: [0xD8])
        #expect(throws: VarintError.truncated) { try buffer.readVarInt() }
        #expect(buffer.readerIndex == 0)
        var empty = ByteBuffer()
        #expect(throws: VarintError.truncated) { try empty.readVarLong() }
    }
}
