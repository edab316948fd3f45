import SluiceCore

/// When appended bytes are forced to disk.
public enum FlushPolicy: Equatable, Sendable {
    /// Leave data in the page cache; fsync when a segment rolls, on checkpoint and on clean
    /// shutdown. Durability comes from replication (acks=all on several nodes), as in Kafka.
    case none
    /// fsync when `messages` records have been appended since the last flush, or when
    /// `intervalMilliseconds` has passed (checked on append and by `flushIfDue(nowMs:)`).
    case interval(messages: Int, intervalMilliseconds: Int64)
    /// fsync before an append is acknowledged; concurrent appends share one fsync (group commit).
    case always
}

/// A partition log's settings; per-topic overrides replace whole fields.
public struct LogConfig: Equatable, Sendable {
    /// Roll to a new segment when the active one would exceed this size (`segment.bytes`).
    public var segmentBytes: Int = 1 << 30
    /// Roll when the active segment is older than this (`segment.ms`), 7 days by default.
    public var segmentMilliseconds: Int64 = 7 * 24 * 3600 * 1000
    /// Bytes of log between two offset-index entries (`index.interval.bytes`).
    public var indexIntervalBytes: Int = 4096
    /// Delete the oldest closed segments while the log is larger than this; nil = no limit.
    public var retentionBytes: Int64? = nil
    /// Delete closed segments whose newest record is older than this; nil = forever.
    public var retentionMilliseconds: Int64? = 7 * 24 * 3600 * 1000
    public var flush: FlushPolicy = .none

    public init() {}

    /// Largest segment the on-disk format can address: index positions are u32, and a read
    /// buffer is an Int32-sized ByteBuffer.
    public static let segmentBytesMax = Int(Int32.max)

    /// Every problem with this configuration, empty when it is valid.
    public func problems() -> [String] {
        var problems: [String] = []
        if segmentBytes < 1024 || segmentBytes > Self.segmentBytesMax {
            problems.append("segment.bytes must be between 1024 and \(Self.segmentBytesMax), not \(segmentBytes)")
        }
        if segmentMilliseconds < 1 { problems.append("segment.ms must be positive, not \(segmentMilliseconds)") }
        if indexIntervalBytes < 1 { problems.append("index.interval.bytes must be positive, not \(indexIntervalBytes)") }
        if let r = retentionBytes, r < 0 { problems.append("retention.bytes must not be negative, not \(r)") }
        if let r = retentionMilliseconds, r < 0 { problems.append("retention.ms must not be negative, not \(r)") }
        if case .interval(let messages, let ms) = flush, messages < 1 || ms < 1 {
            problems.append("flush interval needs positive messages and milliseconds, not \(messages) and \(ms)")
        }
        return problems
    }
}
