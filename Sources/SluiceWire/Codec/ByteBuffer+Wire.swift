import NIOCore
import SluiceCore

// The primitive readers and writers the generated code calls. Readers are bounded: every
// length or count is checked against the bytes that remain before anything is allocated, so a
// hostile length prefix costs nothing. Layouts are Kafka's non-flexible primitives:
// big-endian integers, INT16-length strings, INT32-length bytes, INT32-count arrays, -1 = null.

extension ByteBuffer {
    // MARK: reading

    @inline(__always)
    mutating func readWire<T: FixedWidthInteger>(
        _ type: T.Type, _ context: WireContext, _ field: StaticString
    ) throws(WireError) -> T {
        guard let value = readInteger(endianness: .big, as: T.self) else {
            throw context.error(
                .truncated(needed: MemoryLayout<T>.size, available: readableBytes), field)
        }
        return value
    }

    /// Kafka reads any non-zero byte as true.
    mutating func readWireBool(_ context: WireContext, _ field: StaticString) throws(WireError)
        -> Bool
    {
        try readWire(UInt8.self, context, field) != 0
    }

    mutating func readWireFloat64(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> Double
    {
        Double(bitPattern: try readWire(UInt64.self, context, field))
    }

    mutating func readWireUUID(_ context: WireContext, _ field: StaticString) throws(WireError)
        -> KafkaUUID
    {
        let high = try readWire(UInt64.self, context, field)
        let low = try readWire(UInt64.self, context, field)
        return KafkaUUID(high: high, low: low)
    }

    /// Reads a length prefix; `nil` for the -1 of a null value.
    private mutating func readWireLength<Length: FixedWidthInteger>(
        _ type: Length.Type, nullable: Bool, _ context: WireContext, _ field: StaticString
    ) throws(WireError) -> Int? {
        let length = Int(try readWire(Length.self, context, field))
        if length == -1 && nullable { return nil }
        guard length >= 0 else { throw context.error(.invalidLength(length), field) }
        guard length <= readableBytes else {
            throw context.error(.truncated(needed: length, available: readableBytes), field)
        }
        return length
    }

    mutating func readWireString(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> String
    {
        // Non-null, so the length is never nil here.
        let length = try readWireLength(Int16.self, nullable: false, context, field)!
        return readString(length: length)!
    }

    mutating func readWireNullableString(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> String?
    {
        guard let length = try readWireLength(Int16.self, nullable: true, context, field) else {
            return nil
        }
        return readString(length: length)!
    }

    mutating func readWireBytes(_ context: WireContext, _ field: StaticString) throws(WireError)
        -> [UInt8]
    {
        let length = try readWireLength(Int32.self, nullable: false, context, field)!
        return readBytes(length: length)!
    }

    mutating func readWireNullableBytes(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> [UInt8]?
    {
        guard let length = try readWireLength(Int32.self, nullable: true, context, field) else {
            return nil
        }
        return readBytes(length: length)!
    }

    /// Record batches stay opaque here: a slice of the frame, not a copy (SluiceRecords parses).
    mutating func readWireRecords(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> ByteBuffer
    {
        let length = try readWireLength(Int32.self, nullable: false, context, field)!
        return readSlice(length: length)!
    }

    mutating func readWireNullableRecords(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> ByteBuffer?
    {
        guard let length = try readWireLength(Int32.self, nullable: true, context, field) else {
            return nil
        }
        return readSlice(length: length)!
    }

    /// Reads an array's element count and checks that `count` elements of at least
    /// `elementBytesMin` bytes fit in what remains, so a forged count allocates nothing.
    mutating func readWireArrayCount(
        _ context: WireContext, _ field: StaticString, elementBytesMin: Int
    ) throws(WireError) -> Int {
        guard let count = try readWireNullableArrayCount(
            context, field, elementBytesMin: elementBytesMin, nullable: false)
        else { preconditionFailure("a non-nullable count is never nil") }
        return count
    }

    mutating func readWireNullableArrayCount(
        _ context: WireContext, _ field: StaticString, elementBytesMin: Int, nullable: Bool = true
    ) throws(WireError) -> Int? {
        precondition(elementBytesMin > 0, "every array element occupies at least one byte")
        let count = Int(try readWire(Int32.self, context, field))
        if count == -1 && nullable { return nil }
        guard count >= 0 else { throw context.error(.invalidLength(count), field) }
        guard count <= readableBytes / elementBytesMin else {
            throw context.error(
                .countExceedsRemaining(
                    count: count, elementBytesMin: elementBytesMin, available: readableBytes),
                field)
        }
        return count
    }

    // MARK: writing

    mutating func writeWireBool(_ value: Bool) {
        writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    mutating func writeWireFloat64(_ value: Double) {
        writeInteger(value.bitPattern, endianness: .big)
    }

    mutating func writeWireUUID(_ value: KafkaUUID) {
        writeInteger(value.high, endianness: .big)
        writeInteger(value.low, endianness: .big)
    }

    /// Writes an INT16-length string. A string longer than the 32767 bytes Kafka allows is cut
    /// at the last whole character that fits, rather than trapping: such strings can be built
    /// from client input (a member id is the client id plus a UUID), and a node must not crash
    /// on them. Decoded strings always fit, so only freshly built ones are ever cut.
    mutating func writeWireString(_ value: String) {
        let utf8 = value.utf8
        guard utf8.count > Int(Int16.max) else {
            writeInteger(Int16(utf8.count), endianness: .big)
            writeString(value)
            return
        }
        var end = utf8.index(utf8.startIndex, offsetBy: Int(Int16.max))
        while end > utf8.startIndex && UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        let cut = utf8[..<end]
        writeInteger(Int16(cut.count), endianness: .big)
        writeBytes(cut)
    }

    mutating func writeWireNullableString(_ value: String?) {
        guard let value else {
            writeInteger(Int16(-1), endianness: .big)
            return
        }
        writeWireString(value)
    }

    mutating func writeWireBytes(_ value: [UInt8]) {
        writeWireArrayCount(value.count)
        writeBytes(value)
    }

    mutating func writeWireNullableBytes(_ value: [UInt8]?) {
        guard let value else { return writeWireNullArray() }
        writeWireBytes(value)
    }

    mutating func writeWireRecords(_ value: ByteBuffer) {
        writeWireArrayCount(value.readableBytes)
        writeImmutableBuffer(value)
    }

    mutating func writeWireNullableRecords(_ value: ByteBuffer?) {
        guard let value else { return writeWireNullArray() }
        writeWireRecords(value)
    }

    /// Writes an INT32 count or length.
    mutating func writeWireArrayCount(_ count: Int) {
        precondition(count <= Int(Int32.max), "a Kafka array or byte field holds at most 2^31-1 items")
        writeInteger(Int32(count), endianness: .big)
    }

    /// Writes the -1 that means a null array, bytes or records field.
    mutating func writeWireNullArray() {
        writeInteger(Int32(-1), endianness: .big)
    }
}
