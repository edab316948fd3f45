/// Kafka's 16-byte UUID (`uuid` in the wire definitions: topic ids, incarnation ids), kept as
/// two big-endian halves. It lives in Core rather than Wire because storage keeps a topic's id
/// with the partition's files (`partition.metadata`) and must not depend on the wire layer.
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

    /// Parses `description`'s form: exactly 32 hex digits (either case); nil otherwise.
    public init?(hex: some StringProtocol) {
        let isHexDigit = { (byte: UInt8) in
            (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        }
        guard hex.utf8.count == 32, hex.utf8.allSatisfy(isHexDigit) else { return nil }
        let split = hex.index(hex.startIndex, offsetBy: 16)
        guard let high = UInt64(hex[..<split], radix: 16), let low = UInt64(hex[split...], radix: 16) else { return nil }
        self.init(high: high, low: low)
    }
}
