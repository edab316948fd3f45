import SluiceCore
import SluiceRecords

/// What can go wrong with a partition log operation, typed so the broker maps each to one
/// Kafka error code at its boundary.
public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The disk or OS failed (KAFKA_STORAGE_ERROR).
    case storage(StorageError)
    /// A batch a client sent fails validation; nothing of the request was appended
    /// (`RecordBatchError.kafkaErrorCode`: CORRUPT_MESSAGE, INVALID_RECORD, …).
    case invalidBatch(RecordBatchError)
    /// Stored bytes fail their checks on read: bit rot or a bug (KAFKA_STORAGE_ERROR). The
    /// bad bytes are never served.
    case corruptLog(LogCorruption)
    /// The offset is below the log start or above the log end (OFFSET_OUT_OF_RANGE).
    case offsetOutOfRange(requested: Offset, logStartOffset: Offset, logEndOffset: Offset)
    /// A follower append does not continue the log (its first offset is not the log end).
    case nonContiguousAppend(expected: Offset, got: Offset)
    /// The log was closed or deleted.
    case closed(path: String)

    public var description: String {
        switch self {
        case .storage(let e): e.description
        case .invalidBatch(let e): "invalid record batch: \(e)"
        case .corruptLog(let corruption): corruption.description
        case .offsetOutOfRange(let requested, let start, let end):
            "offset \(requested) is outside the log [\(start), \(end))"
        case .nonContiguousAppend(let expected, let got):
            "replicated batch starts at offset \(got) but the log ends at \(expected)"
        case .closed(let path): "\(path) is closed"
        }
    }
}
