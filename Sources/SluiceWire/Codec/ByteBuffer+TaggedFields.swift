import NIOCore

// Flexible versions end headers and structs with a tag buffer: request header v2, response
// header v1 and every struct of a flexible message version (`ByteBuffer+Compact.swift`).

extension ByteBuffer {
    /// Reads Kafka's UNSIGNED_VARINT (protobuf base-128, little-endian groups), at most 5 bytes.
    mutating func readWireUnsignedVarint(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> UInt32
    {
        var result: UInt32 = 0
        for index in 0..<5 {
            let byte = try readWire(UInt8.self, context, field)
            if index == 4 && byte > 0x0F { throw context.error(.invalidLength(Int(byte)), field) }
            result |= UInt32(byte & 0x7F) << (7 * index)
            if byte & 0x80 == 0 { return result }
        }
        throw context.error(.invalidLength(-1), field)
    }

    /// Skips a tag buffer, checking each tag's size against the remaining bytes.
    mutating func skipWireTaggedFields(
        _ context: WireContext, _ field: StaticString, tagCountMax: Int
    ) throws(WireError) {
        let count = Int(try readWireUnsignedVarint(context, field))
        guard count <= tagCountMax else { throw context.error(.invalidLength(count), field) }
        for _ in 0..<count {
            _ = try readWireUnsignedVarint(context, field)
            let size = Int(try readWireUnsignedVarint(context, field))
            guard size <= readableBytes else {
                throw context.error(.truncated(needed: size, available: readableBytes), field)
            }
            moveReaderIndex(forwardBy: size)
        }
    }
}
