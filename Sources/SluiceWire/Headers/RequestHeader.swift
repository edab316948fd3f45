import NIOCore

/// The header in front of every request body.
///
/// ```
/// v1: api_key INT16 | api_version INT16 | correlation_id INT32 | client_id INT16-length string (null = -1)
/// v2: v1 followed by a tag buffer (UNSIGNED_VARINT count, then per tag: UNSIGNED_VARINT tag,
///     UNSIGNED_VARINT size, size bytes). client_id keeps its INT16 length even in v2.
/// ```
/// v0 (no client_id) is only used by ControlledShutdown v0, which Sluice does not serve.
public struct RequestHeader: Hashable, Sendable, CustomStringConvertible {
    /// The raw key, so a request of an API Sluice does not know can still be logged and refused.
    public var apiKey: Int16
    public var apiVersion: Int16
    public var correlationID: Int32
    public var clientID: String?

    public init(apiKey: Int16, apiVersion: Int16, correlationID: Int32, clientID: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationID = correlationID
        self.clientID = clientID
    }

    /// The key as a known API, or nil.
    public var api: KafkaAPIKey? { KafkaAPIKey(rawValue: apiKey) }

    /// The header version a request of `apiKey` at `apiVersion` carries: 2 for a flexible
    /// version, otherwise 1.
    public static func version(apiKey: Int16, apiVersion: Int16) -> Int16 {
        (KafkaAPIKey(rawValue: apiKey)?.isFlexible(apiVersion) ?? false) ? 2 : 1
    }

    /// The largest tag buffer a v2 header may carry before the request counts as malformed;
    /// Sluice reads no header tags, so this only bounds work on hostile input.
    public static let tagCountMax = 64

    public init(from buffer: inout ByteBuffer, version: Int16) throws(WireError) {
        precondition(version == 1 || version == 2, "request header v\(version) is not supported")
        let context = WireContext(message: "RequestHeader", version: version)
        apiKey = try buffer.readWire(Int16.self, context, "RequestApiKey")
        apiVersion = try buffer.readWire(Int16.self, context, "RequestApiVersion")
        correlationID = try buffer.readWire(Int32.self, context, "CorrelationId")
        clientID = try buffer.readWireNullableString(context, "ClientId")
        if version >= 2 {
            try buffer.skipWireTaggedFields(context, "_tagged_fields", tagCountMax: Self.tagCountMax)
        }
    }

    public func encode(into buffer: inout ByteBuffer, version: Int16) {
        precondition(version == 1 || version == 2, "request header v\(version) is not supported")
        buffer.writeInteger(apiKey, endianness: .big)
        buffer.writeInteger(apiVersion, endianness: .big)
        buffer.writeInteger(correlationID, endianness: .big)
        buffer.writeWireNullableString(clientID)
        if version >= 2 { buffer.writeInteger(UInt8(0)) }  // an empty tag buffer
    }

    public var description: String {
        let name = api.map { "\($0)" } ?? "api \(apiKey)"
        return "\(name) v\(apiVersion) correlation \(correlationID) client \(clientID ?? "-")"
    }
}
