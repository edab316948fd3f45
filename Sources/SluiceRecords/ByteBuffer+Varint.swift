import NIOCore

/// Kafka's variable-length integers (protobuf base-128, least significant group first; the high
/// bit of each byte says "more follows").
///
/// - `VarInt` / `VarLong`: signed, zigzag-mapped first (`(n << 1) ^ (n >> 31)`, `>> 63` for
///   longs) so small negative numbers stay short. Records use these for every length and delta.
///   Vectors: 0→`00`, -1→`01`, 1→`02`, -2→`03`, 63→`7e`, 64→`80 01`, 300→`d8 04`, -300→`d7 04`.
/// - `UnsignedVarInt`: no zigzag; flexible-protocol compact lengths (N+1) and tag counts.
///
/// `read…` consumes the bytes and throws (leaving the reader index untouched) on a truncated or
/// over-long encoding; `write…` appends and returns the number of bytes written.
extension ByteBuffer {
    @inlinable
    public mutating func readVarInt() throws(VarintError) -> Int32 {
        let raw = try readUnsignedVarInt()
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func readVarLong() throws(VarintError) -> Int64 {
        let raw = try readUnsignedVarLong()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func readUnsignedVarInt() throws(VarintError) -> UInt32 {
        let (value, length) = try peekUnsignedVarint(bytesMax: 5)
        moveReaderIndex(forwardBy: length)
        return UInt32(truncatingIfNeeded: value)
    }

    @inlinable
    public mutating func readUnsignedVarLong() throws(VarintError) -> UInt64 {
        let (value, length) = try peekUnsignedVarint(bytesMax: 10)
        moveReaderIndex(forwardBy: length)
        return value
    }

    @discardableResult @inlinable
    public mutating func writeVarInt(_ value: Int32) -> Int {
        writeUnsignedVarLong(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    @discardableResult @inlinable
    public mutating func writeVarLong(_ value: Int64) -> Int {
        writeUnsignedVarLong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @discardableResult @inlinable
    public mutating func writeUnsignedVarInt(_ value: UInt32) -> Int {
        writeUnsignedVarLong(UInt64(value))
    }

    @discardableResult @inlinable
    public mutating func writeUnsignedVarLong(_ value: UInt64) -> Int {
        var remaining = value
        var written = 0
        while remaining >= 0x80 {
            written += writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        written += writeInteger(UInt8(remaining))
        return written
    }

    /// The number of bytes `writeVarInt`/`writeVarLong` would use for `value` (for sizing a
    /// record's length prefix before writing it).
    @inlinable
    public static func varLongLength(_ value: Int64) -> Int {
        let raw = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        return raw == 0 ? 1 : (64 - raw.leadingZeroBitCount + 6) / 7
    }

    /// Decodes an unsigned varint at the reader index without consuming it. `bytesMax` is 5
    /// for 32-bit values and 10 for 64-bit ones; the last allowed byte may only carry the bits
    /// that fit (4 for 32-bit, 1 for 64-bit), so every accepted encoding has one value.
    @inlinable
    func peekUnsignedVarint(bytesMax: Int) throws(VarintError) -> (value: UInt64, length: Int) {
        let bitsMax = bytesMax == 5 ? 32 : 64
        // The closure cannot throw a typed error through NIO's `rethrows`, so it reports the
        // outcome as a length: > 0 decoded, 0 truncated, -1 over-long.
        let (value, length) = withUnsafeReadableBytes { bytes -> (UInt64, Int) in
            var value: UInt64 = 0
            var shift = 0
            for index in 0..<bytesMax {
                guard index < bytes.count else { return (0, 0) }
                let byte = bytes[index]
                let payload = UInt64(byte & 0x7F)
                if shift + 7 > bitsMax, payload >> (bitsMax - shift) != 0 { return (0, -1) }
                value |= payload << shift
                if byte & 0x80 == 0 { return (value, index + 1) }
                shift += 7
            }
            return (0, -1)
        }
        if length == 0 { throw .truncated }
        if length < 0 { throw .overlong(bytesMax: bytesMax) }
        return (value, length)
    }
}
