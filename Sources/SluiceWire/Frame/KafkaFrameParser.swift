import NIOCore
import SluiceCore

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
