import NIOCore

/// A message with a versioned wire layout, generated from `Definitions/*.wire`.
public protocol WireMessage: Hashable, Sendable {
    /// Every version this type can encode and decode.
    static var versions: ClosedRange<Int16> { get }
    /// Writes the fields present in `version`. A field absent from `version` is skipped; a
    /// `nil` in a version where the field is not nullable is written as the empty value.
    /// - Precondition: `versions` contains `version` (callers pick versions from the table).
    func encode(into buffer: inout ByteBuffer, version: Int16)
    /// Reads the fields present in `version`; absent fields keep their defaults.
    init(from buffer: inout ByteBuffer, version: Int16) throws(WireError)
}

/// A request of a Kafka (or internal) API; its key and its response type travel with it.
public protocol APIRequest: WireMessage {
    associatedtype Response: APIResponse
    static var apiKey: Int16 { get }
}

/// The response of an API.
public protocol APIResponse: WireMessage {
    static var apiKey: Int16 { get }
}

extension WireMessage {
    /// Decodes a whole message: `bytes` must hold exactly one message of `version`.
    public static func decode(exactly bytes: ByteBuffer, version: Int16) throws(WireError) -> Self {
        var buffer = bytes
        let message = try Self(from: &buffer, version: version)
        guard buffer.readableBytes == 0 else {
            throw WireError(
                .trailingBytes(buffer.readableBytes), message: "\(Self.self)", field: "",
                version: version)
        }
        return message
    }

    /// The message encoded at `version` in a new buffer.
    public func encoded(version: Int16, allocator: ByteBufferAllocator = ByteBufferAllocator())
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer, version: version)
        return buffer
    }
}
