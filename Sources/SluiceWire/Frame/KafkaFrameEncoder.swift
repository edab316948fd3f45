import NIOCore

/// The outbound NIO handler that prefixes each payload with its 4-byte big-endian size.
public struct KafkaFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeWireArrayCount(data.readableBytes)
        out.writeImmutableBuffer(data)
    }
}
