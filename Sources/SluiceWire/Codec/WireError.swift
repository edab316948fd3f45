/// Why a message could not be decoded, and where: which message, which field, which version.
///
/// Decoding never traps on bad input (DESIGN §1, "bad input never crashes a node"); every
/// problem a peer can cause surfaces as a `WireError` that the broker turns into a log line
/// and a closed connection or a Kafka error code.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The field needs more bytes than the message has left.
        case truncated(needed: Int, available: Int)
        /// A length prefix is negative (and not the -1 that means null), or -1 where the
        /// field is not nullable in this version.
        case invalidLength(Int)
        /// An array claims more elements than the remaining bytes could hold, so it is
        /// rejected before anything is allocated.
        case countExceedsRemaining(count: Int, elementBytesMin: Int, available: Int)
        /// The message has no layout for this version.
        case unsupportedVersion
        /// Bytes are left over after the last field.
        case trailingBytes(Int)
    }

    public var reason: Reason
    /// The top-level message being decoded, e.g. `ProduceRequest`.
    public var message: String
    /// The field, as `Struct.Field` for nested structs; empty when the whole message is meant.
    public var field: String
    public var version: Int16

    public init(_ reason: Reason, message: String, field: String, version: Int16) {
        self.reason = reason
        self.message = message
        self.field = field
        self.version = version
    }

    public var description: String {
        let place = field.isEmpty ? "\(message) v\(version)" : "\(message) v\(version) field \(field)"
        switch reason {
        case .truncated(let needed, let available):
            return "\(place): truncated, needs \(needed) bytes but \(available) remain"
        case .invalidLength(let length):
            return "\(place): invalid length \(length)"
        case .countExceedsRemaining(let count, let elementBytesMin, let available):
            return "\(place): array of \(count) elements (at least \(elementBytesMin) bytes each) "
                + "cannot fit in the \(available) bytes that remain"
        case .unsupportedVersion:
            return "\(place): unsupported version"
        case .trailingBytes(let count):
            return "\(place): \(count) unexpected bytes after the last field"
        }
    }
}
