import SluiceWire
import Testing

/// A generated message that can also build a random value for a version: fields present in
/// that version get random values (nil only where the version allows null), absent ones keep
/// their defaults, so decode(encode(value)) must give back exactly `value`.
protocol ArbitraryWireMessage: WireMessage {
    static func arbitrary(version: Int16, using rng: inout SeededGenerator) -> Self
}

/// A message type as a test argument.
struct MessageCase: @unchecked Sendable, CustomTestStringConvertible {
    let type: any ArbitraryWireMessage.Type
    var testDescription: String { "\(type)" }
    static let all = allMessageTypes.map(MessageCase.init)
}
