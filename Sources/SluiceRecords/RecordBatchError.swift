import SluiceCore

/// Why bytes are not an acceptable RecordBatch v2, or a record inside one is malformed. Every
/// case carries enough context for a log line and maps to the Kafka error code a Produce
/// response should carry (`kafkaErrorCode`), so the mapping lives in one place.
public enum RecordBatchError: Error, Hashable, Sendable {
    /// Fewer bytes than the 61-byte header, or a `batchLength` that cannot even cover it.
    case batchTooSmall(bytes: Int)
    /// The batch's total size exceeds `bytesMax` (`Limits.batchBytesMax` by default).
    case batchTooLarge(bytes: Int, bytesMax: Int)
    /// Only magic 2 (RecordBatch v2) is accepted; magic 0/1 are legacy MessageSets.
    case unsupportedMagic(Int8)
    /// The buffer holds a different number of bytes than `12 + batchLength`.
    case lengthMismatch(declaredBytes: Int, actualBytes: Int)
    /// A batch in a records blob starts but does not finish before the blob ends (a Fetch
    /// response may legitimately end like this; a Produce request may not).
    case truncated(atByte: Int, batchBytes: Int, availableBytes: Int)
    /// The CRC-32C over bytes [21, end) is not the stored one.
    case crcMismatch(stored: UInt32, computed: UInt32)
    /// `recordsCount` must be positive, at most `Limits.batchRecordsMax`, and equal to
    /// `lastOffsetDelta + 1`.
    case invalidRecordsCount(recordsCount: Int32, lastOffsetDelta: Int32)
    /// The codec id is snappy, zstd or undefined (5-7).
    case unsupportedCompression(codecID: UInt8)
    /// The compressed record section does not decompress.
    case decompressionFailed(CompressionError)
    /// Record number `recordIndex` (0-based) in the batch is malformed.
    case malformedRecord(recordIndex: Int, problem: RecordProblem)
    /// The record section holds bytes after the last of `recordsCount` records.
    case trailingRecordBytes(count: Int)

    /// Kafka's error code for this problem (`org.apache.kafka.common.protocol.Errors`), as
    /// Kafka's own `LogValidator` would answer it:
    /// CORRUPT_MESSAGE (2) for bytes that fail structural or CRC checks, MESSAGE_TOO_LARGE (10)
    /// for a batch over the size limit (Kafka's `RecordTooLargeException`; RECORD_LIST_TOO_LARGE
    /// is for a whole request and belongs to the Produce handler), UNSUPPORTED_COMPRESSION_TYPE
    /// (76), and INVALID_RECORD (87) for well-formed bytes that break a record-level rule.
    public var kafkaErrorCode: Int16 {
        switch self {
        case .batchTooSmall, .unsupportedMagic, .lengthMismatch, .truncated, .crcMismatch,
             .decompressionFailed:
            Self.corruptMessage
        case .batchTooLarge: Self.messageTooLarge
        case .unsupportedCompression: Self.unsupportedCompressionType
        case .invalidRecordsCount, .malformedRecord, .trailingRecordBytes: Self.invalidRecord
        }
    }

    public static let corruptMessage: Int16 = 2
    public static let messageTooLarge: Int16 = 10
    public static let recordListTooLarge: Int16 = 18
    public static let unsupportedCompressionType: Int16 = 76
    public static let invalidRecord: Int16 = 87
}
