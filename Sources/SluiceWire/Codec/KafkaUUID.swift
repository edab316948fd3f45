/// Kafka's 16-byte UUID (`uuid` in the definitions), kept as two big-endian halves.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
    public static let zero = KafkaUUID(high: 0, low: 0)
    /// 32 lowercase hex digits (Kafka prints base64; hex is unambiguous in logs too).
    public var description: String {
        func hex(_ half: UInt64) -> String {
            let digits = String(half, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
