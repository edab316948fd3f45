import NIOCore

/// Builds response frame payloads (header + body; `KafkaFrameEncoder` adds the size prefix).
public enum ResponseEncoder {
    /// Encodes `response` as the answer to the request with `header`, in the request's version.
    /// - Precondition: `response` belongs to the request's API.
    public static func encode<Response: APIResponse>(
        _ response: Response, answering header: RequestHeader,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        precondition(Response.apiKey == header.apiKey, "\(Response.self) does not answer \(header)")
        return encode(answering: header, allocator: allocator) { response.encode(into: &$0, version: header.apiVersion) }
    }

    /// Encodes a response held in the `KafkaResponse` enum.
    public static func encode(
        _ response: KafkaResponse, answering header: RequestHeader,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        precondition(response.apiKey == header.apiKey, "\(response.apiKey) does not answer \(header)")
        return encode(answering: header, allocator: allocator) { response.encode(into: &$0, version: header.apiVersion) }
    }

    /// The response header for `header`'s API and version, then the body `encodeBody` writes.
    private static func encode(answering header: RequestHeader, allocator: ByteBufferAllocator,
                               _ encodeBody: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128)
        ResponseHeader(correlationID: header.correlationID).encode(
            into: &buffer,
            version: ResponseHeader.version(apiKey: header.apiKey, apiVersion: header.apiVersion))
        encodeBody(&buffer)
        return buffer
    }
}
