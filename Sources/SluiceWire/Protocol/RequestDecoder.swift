import NIOCore

/// A request frame decoded into its header and typed body.
public struct DecodedRequest: Hashable, Sendable {
    public var header: RequestHeader
    public var request: KafkaRequest

    public init(header: RequestHeader, request: KafkaRequest) {
        self.header = header
        self.request = request
    }
}

/// Why a request frame could not become a `DecodedRequest`, and what the broker can still say.
public enum RequestDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not even the header could be read; there is no correlation id to answer. Close.
    case malformedHeader(WireError)
    /// An API key Sluice does not implement. Kafka closes the connection; so should Sluice.
    case unknownAPIKey(RequestHeader)
    /// A known API at a version Sluice does not implement. For ApiVersions, answer with
    /// `SupportedAPIs.apiVersionsFallback(correlationID:)` (the client retries with v0);
    /// for any other API there is no layout to answer in, so close (as Kafka does).
    case unsupportedVersion(RequestHeader, supported: ClosedRange<Int16>)
    /// The header was fine but the body is not a valid message of its version. The header's
    /// correlation id allows a log line that names the request; then close.
    case malformedBody(RequestHeader, WireError)

    public var description: String {
        switch self {
        case .malformedHeader(let error): "malformed request header: \(error)"
        case .unknownAPIKey(let header): "unknown API key \(header.apiKey) (\(header))"
        case .unsupportedVersion(let header, let supported):
            "unsupported version \(header.apiVersion) of \(header); supported: \(supported)"
        case .malformedBody(let header, let error): "malformed request (\(header)): \(error)"
        }
    }
}

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

/// Builds response frame payloads (header + body; `KafkaFrameEncoder` adds the size prefix).
public enum ResponseEncoder {
    /// Encodes `response` as the answer to the request with `header`, in the request's version.
    /// - Precondition: `response` belongs to the request's API.
    public static func encode<Response: APIResponse>(
        _ response: Response, answering header: RequestHeader,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        precondition(Response.apiKey == header.apiKey, "\(Response.self) does not answer \(header)")
        var buffer = allocator.buffer(capacity: 128)
        ResponseHeader(correlationID: header.correlationID).encode(
            into: &buffer,
            version: ResponseHeader.version(apiKey: header.apiKey, apiVersion: header.apiVersion))
        response.encode(into: &buffer, version: header.apiVersion)
        return buffer
    }

    /// Encodes a response held in the `KafkaResponse` enum.
    public static func encode(
        _ response: KafkaResponse, answering header: RequestHeader,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        precondition(response.apiKey == header.apiKey, "\(response.apiKey) does not answer \(header)")
        var buffer = allocator.buffer(capacity: 128)
        ResponseHeader(correlationID: header.correlationID).encode(
            into: &buffer,
            version: ResponseHeader.version(apiKey: header.apiKey, apiVersion: header.apiVersion))
        response.encode(into: &buffer, version: header.apiVersion)
        return buffer
    }
}
