/// A validated Kafka topic name.
///
/// Kafka's rules (`org.apache.kafka.common.internals.Topic.validate`): 1 to 249 characters from
/// `[a-zA-Z0-9._-]`, and not `.` or `..` (they would be directory names). Sluice keeps Kafka's
/// limit of 249 because a partition directory is `<topic>-<partition>` and must fit in 255 bytes.
public struct TopicName: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// The longest valid topic name (Kafka's `Topic.MAX_NAME_LENGTH`).
    public static let lengthMax = 249

    public enum ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong(length: Int)
        case reserved(String)
        case illegalCharacter(Character)

        public var description: String {
            switch self {
            case .empty: "topic name is empty"
            case .tooLong(let n): "topic name is \(n) characters long; the limit is \(TopicName.lengthMax)"
            case .reserved(let s): "topic name '\(s)' is reserved"
            case .illegalCharacter(let c):
                "topic name contains '\(c)'; only ASCII letters, digits, '.', '_' and '-' are allowed"
            }
        }
    }

    /// Validates `name`; throws what is wrong with it.
    public init(validating name: String) throws(ValidationError) {
        if name.isEmpty { throw .empty }
        if name == "." || name == ".." { throw .reserved(name) }
        if name.utf8.count > Self.lengthMax { throw .tooLong(length: name.utf8.count) }
        for byte in name.utf8 where !Self.isLegal(byte) {
            throw .illegalCharacter(Character(Unicode.Scalar(byte)))
        }
        self.rawValue = name
    }

    /// Validates; `nil` if the name is not a legal topic name.
    public init?(rawValue: String) {
        guard let name = try? TopicName(validating: rawValue) else { return nil }
        self = name
    }

    public var description: String { rawValue }
    public static func < (lhs: TopicName, rhs: TopicName) -> Bool { lhs.rawValue < rhs.rawValue }

    private static func isLegal(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
