import NIOCore
import SluiceCore

/// The inbound NIO handler that emits one `ByteBuffer` per frame (the payload, without the
/// size prefix). A partial frame waits for more bytes; a bad prefix or a stream that ends
/// inside a frame is a `FrameError`.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private let parser: KafkaFrameParser

    public init(frameBytesMax: Int = Limits.frameBytesMax) {
        parser = KafkaFrameParser(frameBytesMax: frameBytesMax)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
        -> DecodingState
    {
        guard let frame = try parser.nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        guard buffer.readableBytes > 0 else { return .needMoreData }
        let expected =
            buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self)
            .map { 4 + Int($0) } ?? 4
        throw FrameError.truncated(expected: expected, received: buffer.readableBytes)
    }
}
