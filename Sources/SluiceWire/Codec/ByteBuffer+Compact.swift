import NIOCore

// The primitives of flexible versions (KIP-482). Lengths and counts are UNSIGNED_VARINTs
// holding N + 1, so 0 means null; non-nullable fields refuse the 0. Readers are bounded exactly
// like the non-flexible ones in `ByteBuffer+Wire.swift`: a length or count is checked against
// the remaining bytes before anything is allocated.
//
// ```
// COMPACT_STRING / COMPACT_BYTES / COMPACT_RECORDS: UNSIGNED_VARINT (N + 1) | N bytes
// COMPACT_ARRAY:                                    UNSIGNED_VARINT (N + 1) | N elements
// tag buffer: UNSIGNED_VARINT count | count × (UNSIGNED_VARINT tag | UNSIGNED_VARINT size | size bytes)
// ```

/// The most tagged fields one struct's tag buffer may carry. Sluice declares no tagged fields
/// and skips every one it reads; this only bounds the work a hostile buffer can cause.
let wireTaggedFieldsCountMax = 1024

extension ByteBuffer {
    // MARK: reading

    /// Reads a compact length; nil for the 0 of a null value (only when `nullable`).
    private mutating func readWireCompactLength(
        nullable: Bool, _ context: WireContext, _ field: StaticString
    ) throws(WireError) -> Int? {
        let encoded = Int(try readWireUnsignedVarint(context, field))
        if encoded == 0 {
            if nullable { return nil }
            throw context.error(.invalidLength(-1), field)
        }
        let length = encoded - 1
        guard length <= readableBytes else {
            throw context.error(.truncated(needed: length, available: readableBytes), field)
        }
        return length
    }

    mutating func readWireCompactString(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> String
    {
        let length = try readWireCompactLength(nullable: false, context, field)!
        return readString(length: length)!
    }

    mutating func readWireCompactNullableString(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> String?
    {
        guard let length = try readWireCompactLength(nullable: true, context, field) else {
            return nil
        }
        return readString(length: length)!
    }

    mutating func readWireCompactBytes(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> [UInt8]
    {
        let length = try readWireCompactLength(nullable: false, context, field)!
        return readBytes(length: length)!
    }

    mutating func readWireCompactNullableBytes(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> [UInt8]?
    {
        guard let length = try readWireCompactLength(nullable: true, context, field) else {
            return nil
        }
        return readBytes(length: length)!
    }

    mutating func readWireCompactRecords(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> ByteBuffer
    {
        let length = try readWireCompactLength(nullable: false, context, field)!
        return readSlice(length: length)!
    }

    mutating func readWireCompactNullableRecords(_ context: WireContext, _ field: StaticString)
        throws(WireError) -> ByteBuffer?
    {
        guard let length = try readWireCompactLength(nullable: true, context, field) else {
            return nil
        }
        return readSlice(length: length)!
    }

    mutating func readWireCompactArrayCount(
        _ context: WireContext, _ field: StaticString, elementBytesMin: Int
    ) throws(WireError) -> Int {
        guard let count = try readWireCompactNullableArrayCount(
            context, field, elementBytesMin: elementBytesMin, nullable: false)
        else { preconditionFailure("a non-nullable count is never nil") }
        return count
    }

    mutating func readWireCompactNullableArrayCount(
        _ context: WireContext, _ field: StaticString, elementBytesMin: Int, nullable: Bool = true
    ) throws(WireError) -> Int? {
        precondition(elementBytesMin > 0, "every array element occupies at least one byte")
        let encoded = Int(try readWireUnsignedVarint(context, field))
        if encoded == 0 {
            if nullable { return nil }
            throw context.error(.invalidLength(-1), field)
        }
        let count = encoded - 1
        guard count <= readableBytes / elementBytesMin else {
            throw context.error(
                .countExceedsRemaining(
                    count: count, elementBytesMin: elementBytesMin, available: readableBytes),
                field)
        }
        return count
    }

    /// Skips the tag buffer that ends every struct in a flexible version. Sluice declares no
    /// tagged fields, so every tag is unknown and skipped (KIP-482: readers ignore unknown tags).
    mutating func skipWireStructTaggedFields(_ context: WireContext, _ field: StaticString)
        throws(WireError)
    {
        try skipWireTaggedFields(context, field, tagCountMax: wireTaggedFieldsCountMax)
    }

    // MARK: writing

    mutating func writeWireUnsignedVarint(_ value: UInt32) {
        var rest = value
        while rest >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        writeInteger(UInt8(rest))
    }

    /// Writes N + 1 for a length or count of N.
    mutating func writeWireCompactArrayCount(_ count: Int) {
        precondition(count < Int(Int32.max), "a Kafka array or byte field holds at most 2^31-2 items")
        writeWireUnsignedVarint(UInt32(count + 1))
    }

    /// Writes the 0 that means a null compact string, bytes, records or array.
    mutating func writeWireCompactNull() {
        writeInteger(UInt8(0))
    }

    /// Writes a compact string, cut at 32767 bytes like `writeWireString` (Kafka's limit).
    mutating func writeWireCompactString(_ value: String) {
        let utf8 = value.utf8
        guard utf8.count > Int(Int16.max) else {
            writeWireCompactArrayCount(utf8.count)
            writeString(value)
            return
        }
        var end = utf8.index(utf8.startIndex, offsetBy: Int(Int16.max))
        while end > utf8.startIndex && UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        let cut = utf8[..<end]
        writeWireCompactArrayCount(cut.count)
        writeBytes(cut)
    }

    mutating func writeWireCompactNullableString(_ value: String?) {
        guard let value else { return writeWireCompactNull() }
        writeWireCompactString(value)
    }

    mutating func writeWireCompactBytes(_ value: [UInt8]) {
        writeWireCompactArrayCount(value.count)
        writeBytes(value)
    }

    mutating func writeWireCompactNullableBytes(_ value: [UInt8]?) {
        guard let value else { return writeWireCompactNull() }
        writeWireCompactBytes(value)
    }

    mutating func writeWireCompactRecords(_ value: ByteBuffer) {
        writeWireCompactArrayCount(value.readableBytes)
        writeImmutableBuffer(value)
    }

    mutating func writeWireCompactNullableRecords(_ value: ByteBuffer?) {
        guard let value else { return writeWireCompactNull() }
        writeWireCompactRecords(value)
    }

    /// Writes an empty tag buffer (the single byte 0): Sluice sends no tagged fields.
    mutating func writeWireEmptyTaggedFields() {
        writeInteger(UInt8(0))
    }
}
