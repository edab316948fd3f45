import NIOCore

/// The consumer protocol's subscription and assignment travel inside JoinGroup metadata and
/// SyncGroup assignment bytes, each prefixed with its own INT16 version:
/// ```
/// version INT16 | ConsumerProtocolSubscription or ConsumerProtocolAssignment at that version
/// ```
/// Newer versions only append fields, so a version above the highest known one is read with
/// the highest known layout and its extra bytes are ignored, as Kafka's `ConsumerProtocol` does.
/// The client library's assignors read them; the broker reads a subscription only to answer
/// OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC).
extension WireMessage {
    /// Decodes version-prefixed bytes (JoinGroup protocol metadata, SyncGroup assignment).
    public static func decodeVersionPrefixed(_ bytes: [UInt8]) throws(WireError) -> (version: Int16, message: Self) {
        var buffer = ByteBuffer(bytes: bytes)
        let context = WireContext(message: "VersionPrefixed", version: -1)
        let version = try buffer.readWire(Int16.self, context, "Version")
        guard version >= Self.versions.lowerBound else {
            throw WireError(.unsupportedVersion, message: "\(Self.self)", field: "", version: version)
        }
        let message = try Self(from: &buffer, version: min(version, Self.versions.upperBound))
        return (version, message)
    }

    /// Encodes `self` at `version` behind its INT16 version prefix.
    public func encodedVersionPrefixed(version: Int16) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(version, endianness: .big)
        encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }
}
