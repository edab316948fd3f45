/// What is wrong with one record inside a batch.
public enum RecordProblem: Error, Hashable, Sendable {
    /// A varint field is truncated or over-long.
    case badVarint(field: String, VarintError)
    /// The record's length prefix is negative or claims more bytes than remain in the batch.
    case lengthOutOfBounds(declaredBytes: Int, remainingBytes: Int)
    /// A key, value or header field claims more bytes than remain in the record, or a length
    /// below -1.
    case fieldOutOfBounds(field: String, declaredBytes: Int, remainingBytes: Int)
    /// A negative header count, or one that cannot fit in the record's bytes.
    case invalidHeaderCount(Int32)
    /// The fields did not use exactly the record's declared length.
    case lengthMismatch(declaredBytes: Int, usedBytes: Int)
    /// The record's offsetDelta is outside 0...lastOffsetDelta.
    case offsetDeltaOutOfRange(Int32)
}
