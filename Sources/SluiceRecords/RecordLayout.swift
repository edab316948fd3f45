/// Where the fields of one record lie, found by a single bounds-checked pass over raw bytes
/// (see `Record` for the layout). Positions are relative to the start of the record's length
/// varint. Parsing on a raw pointer, once per record, keeps `ByteBuffer` bookkeeping out of
/// the per-field work; `RecordIterator` then slices key, value and header values out.
struct RecordLayout {
    /// Bytes of the whole record, length varint included.
    var totalBytes = 0
    var timestampDelta: Int64 = 0
    var offsetDelta: Int32 = 0
    var key: Range<Int>?
    var value: Range<Int>?
    var headers: [(key: String, value: Range<Int>?)] = []

    /// Parses the record at the start of `bytes`. `lastOffsetDelta` bounds the offsetDelta.
    static func parse(_ bytes: UnsafeRawBufferPointer, lastOffsetDelta: Int32) throws(RecordProblem) -> RecordLayout {
        var cursor = Cursor(bytes: bytes, position: 0, end: bytes.count)
        let length = Int(try cursor.varint("length"))
        guard length >= 0, length <= cursor.remaining else {
            throw .lengthOutOfBounds(declaredBytes: length, remainingBytes: cursor.remaining)
        }
        // Parse within exactly `length` bytes so a field cannot run into the next record.
        cursor.end = cursor.position + length
        var layout = RecordLayout()
        guard cursor.remaining >= 1 else { throw .lengthMismatch(declaredBytes: length, usedBytes: length + 1) }
        cursor.position += 1  // attributes: unused
        layout.timestampDelta = try cursor.varlong("timestampDelta")
        layout.offsetDelta = try cursor.varint("offsetDelta")
        guard layout.offsetDelta >= 0, layout.offsetDelta <= lastOffsetDelta else {
            throw .offsetDeltaOutOfRange(layout.offsetDelta)
        }
        layout.key = try cursor.field("key")
        layout.value = try cursor.field("value")
        let headerCount = try cursor.varint("headerCount")
        // Each header takes at least two bytes, so a count beyond that cannot be honest; checking
        // first keeps a forged count from reserving memory.
        guard headerCount >= 0, Int(headerCount) <= cursor.remaining / 2 else { throw .invalidHeaderCount(headerCount) }
        if headerCount > 0 {
            layout.headers.reserveCapacity(Int(headerCount))
            for _ in 0..<headerCount {
                guard let keyRange = try cursor.field("headerKey") else {
                    throw .fieldOutOfBounds(field: "headerKey", declaredBytes: -1, remainingBytes: cursor.remaining)
                }
                let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[keyRange]), as: UTF8.self)
                layout.headers.append((key, try cursor.field("headerValue")))
            }
        }
        guard cursor.remaining == 0 else {
            throw .lengthMismatch(declaredBytes: length, usedBytes: length - cursor.remaining)
        }
        layout.totalBytes = cursor.end
        return layout
    }

    /// A read position over raw bytes that never passes `end`.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        var end: Int
        var remaining: Int { end - position }

        mutating func varint(_ field: String) throws(RecordProblem) -> Int32 {
            let raw = UInt32(truncatingIfNeeded: try unsigned(field, bytesMax: 5))
            return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        }

        mutating func varlong(_ field: String) throws(RecordProblem) -> Int64 {
            let raw = try unsigned(field, bytesMax: 10)
            return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        }

        /// A length-prefixed byte field; nil for length -1.
        mutating func field(_ field: String) throws(RecordProblem) -> Range<Int>? {
            let length = Int(try varint(field))
            if length == -1 { return nil }
            guard length >= 0, length <= remaining else {
                throw .fieldOutOfBounds(field: field, declaredBytes: length, remainingBytes: remaining)
            }
            defer { position += length }
            return position..<position + length
        }

        /// The same rules as `ByteBuffer.readUnsignedVarLong`: at most `bytesMax` bytes, and no
        /// bits beyond the type's width.
        private mutating func unsigned(_ field: String, bytesMax: Int) throws(RecordProblem) -> UInt64 {
            let bitsMax = bytesMax == 5 ? 32 : 64
            var value: UInt64 = 0
            var shift = 0
            for _ in 0..<bytesMax {
                guard position < end else { throw .badVarint(field: field, .truncated) }
                let byte = bytes[position]
                position += 1
                let payload = UInt64(byte & 0x7F)
                if shift + 7 > bitsMax, payload >> (bitsMax - shift) != 0 {
                    throw .badVarint(field: field, .overlong(bytesMax: bytesMax))
                }
                value |= payload << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw .badVarint(field: field, .overlong(bytesMax: bytesMax))
        }
    }
}
