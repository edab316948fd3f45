import NIOCore

/// The broker's entry point for request frames.
public enum RequestDecoder {
    /// Decodes one frame payload (as `KafkaFrameDecoder` emits it): the header, whose version
    /// follows from the key and version it starts with, then the body, which must use up the
    /// frame exactly.
    public static func decode(frame: ByteBuffer) throws(RequestDecodingError) -> DecodedRequest {
        var buffer = frame
        let header: RequestHeader
        do throws(WireError) {
            // Every header version up to 2 starts with the v1 fields.
            header = try RequestHeader(from: &buffer, version: 1)
        } catch {
            throw .malformedHeader(error)
        }
        guard let supported = KafkaRequest.versions(apiKey: header.apiKey) else {
            throw .unknownAPIKey(header)
        }
        guard supported.contains(header.apiVersion) else {
            throw .unsupportedVersion(header, supported: supported)
        }
        do throws(WireError) {
            if RequestHeader.version(apiKey: header.apiKey, apiVersion: header.apiVersion) == 2 {
                try buffer.skipWireTaggedFields(
                    WireContext(message: "RequestHeader", version: 2), "_tagged_fields",
                    tagCountMax: RequestHeader.tagCountMax)
            }
            guard
                let request = try KafkaRequest.decode(
                    apiKey: header.apiKey, version: header.apiVersion, from: &buffer)
            else { preconditionFailure("KafkaRequest.versions knows key \(header.apiKey)") }
            guard buffer.readableBytes == 0 else {
                throw WireError(
                    .trailingBytes(buffer.readableBytes), message: "\(header.api.map { "\($0)" } ?? "")Request",
                    field: "", version: header.apiVersion)
            }
            return DecodedRequest(header: header, request: request)
        } catch {
            throw .malformedBody(header, error)
        }
    }
}
