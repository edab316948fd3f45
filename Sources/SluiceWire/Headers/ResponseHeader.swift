import NIOCore

/// The header in front of every response body.
///
/// ```
/// v0: correlation_id INT32
/// v1: v0 followed by a tag buffer (an empty one is the single byte 0)
/// ```
/// ApiVersions responses always use v0, even for the flexible v3+ (KIP-511).
public struct ResponseHeader: Hashable, Sendable {
    public var correlationID: Int32

    public init(correlationID: Int32) {
        self.correlationID = correlationID
    }

    /// The header version the response to `apiKey` at `apiVersion` carries.
    public static func version(apiKey: Int16, apiVersion: Int16) -> Int16 {
        if apiKey == KafkaAPIKey.apiVersions.rawValue { return 0 }
        return (KafkaAPIKey(rawValue: apiKey)?.isFlexible(apiVersion) ?? false) ? 1 : 0
    }

    public init(from buffer: inout ByteBuffer, version: Int16) throws(WireError) {
        precondition(version == 0 || version == 1, "response header v\(version) is not supported")
        let context = WireContext(message: "ResponseHeader", version: version)
        correlationID = try buffer.readWire(Int32.self, context, "CorrelationId")
        if version >= 1 {
            try buffer.skipWireTaggedFields(
                context, "_tagged_fields", tagCountMax: RequestHeader.tagCountMax)
        }
    }

    public func encode(into buffer: inout ByteBuffer, version: Int16) {
        precondition(version == 0 || version == 1, "response header v\(version) is not supported")
        buffer.writeInteger(correlationID, endianness: .big)
        if version >= 1 { buffer.writeInteger(UInt8(0)) }
    }
}
