import NIOCore
import NIOEmbedded
import NIOTestUtils
import SluiceCore
import Testing

@testable import SluiceWire

@Suite("Frame codec")
struct FrameCodecTests {
    private func frame(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    @Test("frames split anywhere, fed byte by byte or all at once, come out whole and in order")
    func decoderIsVerifiedByteByByte() throws {
        var stream = frame([1, 2, 3])
        var empty = frame([])
        stream.writeBuffer(&empty)
        var large = frame(Array(repeating: 0xAB, count: 300))
        stream.writeBuffer(&large)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (stream, [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(), ByteBuffer(bytes: Array(repeating: 0xAB, count: 300))]),
                (frame([9]), [ByteBuffer(bytes: [9])]),
            ],
            decoderFactory: { KafkaFrameDecoder(frameBytesMax: 1024) })
    }

    @Test("a partial frame waits and consumes nothing")
    func partialFrameWaits() throws {
        let parser = KafkaFrameParser(frameBytesMax: 100)
        var full = frame([1, 2, 3, 4])
        for length in 0..<full.readableBytes {
            var partial = full.getSlice(at: 0, length: length)!
            #expect(try parser.nextFrame(from: &partial) == nil)
            #expect(partial.readableBytes == length)
        }
        #expect(try parser.nextFrame(from: &full) == ByteBuffer(bytes: [1, 2, 3, 4]))
        #expect(full.readableBytes == 0)
    }

    @Test("a frame at the limit passes; one byte over is refused as soon as its size arrives")
    func oversizeFrameIsRefused() throws {
        let parser = KafkaFrameParser(frameBytesMax: 8)
        var atLimit = frame(Array(repeating: 1, count: 8))
        #expect(try parser.nextFrame(from: &atLimit)?.readableBytes == 8)
        var sizeOnly = ByteBuffer(bytes: [0, 0, 0, 9])
        #expect(throws: FrameError.oversize(size: 9, max: 8)) { try parser.nextFrame(from: &sizeOnly) }
    }

    @Test("a negative size is refused")
    func negativeSizeIsRefused() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE, 0])
        #expect(throws: FrameError.negativeSize(-2)) { try KafkaFrameParser().nextFrame(from: &buffer) }
    }

    @Test("a frame claiming 2 GiB is refused after its 4 size bytes, with nothing allocated for it")
    func twoGiBClaimIsRefusedWithoutAllocating() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder()))
        #expect(throws: FrameError.oversize(size: Int(Int32.max), max: Limits.frameBytesMax)) {
            try channel.writeInbound(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        }
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }

    @Test("the stream ending inside a frame is reported as truncated")
    func eofInsideFrameIsTruncated() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder()))
        var bytes = frame([1, 2, 3])
        bytes.writeBytes([0, 0, 0, 5, 1, 2])
        try channel.writeInbound(bytes)
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3]))
        #expect(throws: FrameError.truncated(expected: 9, received: 6)) { try channel.finish() }
    }

    @Test("the encoder prefixes the payload with its big-endian size")
    func encoderPrefixesSize() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(KafkaFrameEncoder()))
        try channel.writeOutbound(ByteBuffer(bytes: [7, 8, 9]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: [0, 0, 0, 3, 7, 8, 9]))
        #expect(try channel.finish().isClean)
    }
}
