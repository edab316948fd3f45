import SluiceCore

/// An idempotent producer's per-partition sequence number (int32): a batch's `baseSequence`
/// is its first record's. Kafka's producer writes -1 when it is not idempotent, but aiokafka
/// 0.14 writes 0 (see the fixtures), so a sequence means something only with a producer id.
public struct ProducerSequence: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static let none: ProducerSequence = -1
}
