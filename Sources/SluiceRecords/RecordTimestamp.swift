import SluiceCore

/// A record timestamp: milliseconds since the Unix epoch (int64 on the wire). -1 means "none"
/// (Kafka's `NO_TIMESTAMP`).
public struct RecordTimestamp: IntegerIdentifier {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static let none: RecordTimestamp = -1
}
