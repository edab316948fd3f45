import NIOCore
import SluiceCore

/// Why the byte stream could not be cut into frames. Each one ends the connection: after a bad
/// size prefix nothing that follows can be trusted to start a frame.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The size prefix is negative.
    case negativeSize(Int32)
    /// The size prefix exceeds the configured maximum; nothing was allocated for it.
    case oversize(size: Int, max: Int)
    /// The stream ended inside a frame.
    case truncated(expected: Int, received: Int)

    public var description: String {
        switch self {
        case .negativeSize(let size): "frame size prefix is negative (\(size))"
        case .oversize(let size, let max): "frame of \(size) bytes exceeds the limit of \(max) bytes"
        case .truncated(let expected, let received):
            "connection closed inside a frame: \(received) of \(expected) bytes received"
        }
    }
}

/// Cuts a byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
///
/// The pure part of `KafkaFrameDecoder`, usable on any buffer (the client, tests).
public struct KafkaFrameParser: Sendable {
    public let frameBytesMax: Int

    /// - Precondition: `frameBytesMax` is positive and fits the INT32 size prefix.
    public init(frameBytesMax: Int = Limits.frameBytesMax) {
        precondition(frameBytesMax > 0 && frameBytesMax <= Int(Int32.max), "frameBytesMax out of range")
        self.frameBytesMax = frameBytesMax
    }

    /// Consumes and returns the next whole frame's payload, or nil (consuming nothing) if the
    /// buffer holds only part of one. The size is checked as soon as its 4 bytes arrive, so an
    /// oversize frame is refused before any of its payload is buffered.
    public func nextFrame(from buffer: inout ByteBuffer) throws(FrameError) -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self)
        else { return nil }
        guard size >= 0 else { throw .negativeSize(size) }
        guard Int(size) <= frameBytesMax else { throw .oversize(size: Int(size), max: frameBytesMax) }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))!
    }
}

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

/// The outbound NIO handler that prefixes each payload with its 4-byte big-endian size.
public struct KafkaFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeWireArrayCount(data.readableBytes)
        out.writeImmutableBuffer(data)
    }
}
