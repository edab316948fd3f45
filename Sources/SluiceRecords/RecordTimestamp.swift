import SluiceCore

/// A record timestamp: milliseconds since the Unix epoch (int64 on the wire). -1 means "none"
/// (Kafka's `NO_TIMESTAMP`).
public struct RecordTimestamp: IntegerIdentifier {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static let none: RecordTimestamp = -1
}

/// An idempotent producer's per-partition sequence number (int32): a batch's `baseSequence`
/// is its first record's. -1 means "not idempotent".
public struct ProducerSequence: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static let none: ProducerSequence = -1
}
