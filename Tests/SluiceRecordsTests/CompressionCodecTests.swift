import NIOCore
import Testing

@testable import SluiceRecords

@Suite struct LZ4FrameCodecTests {
    static let text = Array("hello sluice, hello kafka, hello lz4! ".utf8)
    static var expected: [UInt8] { text + text + text }

    static func hex(_ string: String) -> ByteBuffer {
        var bytes: [UInt8] = []
        var index = string.startIndex
        while index < string.endIndex {
            let next = string.index(index, offsetBy: 2)
            bytes.append(UInt8(string[index..<next], radix: 16)!)
            index = next
        }
        return ByteBuffer(bytes: bytes)
    }

    /// Frames made by python-lz4 4.4.5 from `expected`, one per FLG variant clients send.
    static let frames: [(flag: UInt8, hex: String)] = [
        (0x60, "04224d186040822a000000e268656c6c6f20736c756963652c200e00546b61666b610d00436c7a342118000f26002e506c7a34212000000000"),
        (0x68, "04224d1868407200000000000000ce2a000000e268656c6c6f20736c756963652c200e00546b61666b610d00436c7a342118000f26002e506c7a34212000000000"),
        (0x70, "04224d187040ad2a000000e268656c6c6f20736c756963652c200e00546b61666b610d00436c7a342118000f26002e506c7a34212010a02a6b00000000"),
        (0x64, "04224d186440a72a000000e268656c6c6f20736c756963652c200e00546b61666b610d00436c7a342118000f26002e506c7a34212000000000b028e0c4"),
    ]

    @Test(arguments: frames)
    func decompressesEveryFrameVariantClientsSend(flag: UInt8, hex: String) throws {
        let frame = Self.hex(hex)
        #expect(frame.getInteger(at: 4, as: UInt8.self) == flag)
        let output = try LZ4FrameCodec.decompress(frame, bytesMax: 1 << 20)
        #expect(Array(output.readableBytesView) == Self.expected)
    }

    @Test func refusesAFrameWithDependentBlocks() {
        // The 0x60 frame with FLG 0x40 (no block independence) and its header checksum redone:
        // liblz4 would decode it; Kafka's reader and Sluice refuse it.
        let frame = Self.hex("04224d184040c02a000000e268656c6c6f20736c756963652c200e00546b61666b610d00436c7a342118000f26002e506c7a34212000000000")
        #expect(throws: CompressionError.dependentBlocks) { try LZ4FrameCodec.decompress(frame, bytesMax: 1 << 20) }
    }

    @Test func refusesGarbageBadMagicAndACorruptBlockChecksum() {
        #expect(throws: CompressionError.self) { try LZ4FrameCodec.decompress(ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]), bytesMax: 100) }
        var frame = Array(Self.hex(Self.frames[2].hex).readableBytesView)
        frame[frame.count - 9] ^= 0x01  // inside the block checksum of the 0x70 frame
        #expect(throws: CompressionError.self) { try LZ4FrameCodec.decompress(ByteBuffer(bytes: frame), bytesMax: 1 << 20) }
    }

    @Test func truncatedFrameIsTruncated() {
        let frame = Array(Self.hex(Self.frames[0].hex).readableBytesView)
        for cut in [7, 12, frame.count - 1] {
            #expect(throws: CompressionError.truncated(codec: .lz4)) {
                try LZ4FrameCodec.decompress(ByteBuffer(bytes: frame[..<cut]), bytesMax: 1 << 20)
            }
        }
    }

    @Test func bytesAfterTheFrameAreRejected() {
        var frame = Self.hex(Self.frames[0].hex)
        frame.writeBytes([0xAA, 0xBB])
        #expect(throws: CompressionError.trailingBytes(codec: .lz4, count: 2)) {
            try LZ4FrameCodec.decompress(frame, bytesMax: 1 << 20)
        }
    }

    @Test func decompressionBombStopsAtTheBound() throws {
        let zeros = ByteBuffer(repeating: 0, count: 8 << 20)
        let bomb = try LZ4FrameCodec.compress(zeros)
        #expect(bomb.readableBytes < 64 * 1024)
        #expect(throws: CompressionError.outputTooLarge(codec: .lz4, bytesMax: 1 << 20)) {
            try LZ4FrameCodec.decompress(bomb, bytesMax: 1 << 20)
        }
        #expect(try LZ4FrameCodec.decompress(bomb, bytesMax: 8 << 20).readableBytes == 8 << 20, "exactly at the bound is fine")
    }

    @Test func compressWritesIndependent64KiBBlocksThatRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let input = ByteBuffer(bytes: (0..<300_000).map { i in i % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : UInt8(i % 7) })
        let frame = try LZ4FrameCodec.compress(input)
        #expect(frame.getInteger(at: 4, as: UInt8.self) == 0x60)
        #expect(frame.getInteger(at: 5, as: UInt8.self) == 0x40)
        #expect(try LZ4FrameCodec.decompress(frame, bytesMax: 1 << 20) == input)
        #expect(try LZ4FrameCodec.decompress(LZ4FrameCodec.compress(ByteBuffer()), bytesMax: 10).readableBytes == 0)
    }
}

@Suite struct GzipCodecTests {
    /// `gzip.compress(expected, mtime=0)` from CPython.
    static let member = LZ4FrameCodecTests.hex("1f8b0800000000000203cb48cdc9c95728ce29cd4c4ed551c800f3b213d3b213619c9c2a134528933aaa00d44947c372000000")

    @Test func decompressesPythonGzip() throws {
        #expect(Array(try GzipCodec.decompress(Self.member, bytesMax: 1 << 20).readableBytesView) == LZ4FrameCodecTests.expected)
    }

    @Test func concatenatedMembersReadAsOneStream() throws {
        var two = Self.member
        two.writeImmutableBuffer(Self.member)
        let output = try GzipCodec.decompress(two, bytesMax: 1 << 20)
        #expect(Array(output.readableBytesView) == LZ4FrameCodecTests.expected + LZ4FrameCodecTests.expected)
    }

    @Test func trailingJunkTruncationAndGarbageAreErrors() {
        var junk = Self.member
        junk.writeBytes([1, 2, 3])
        #expect(throws: CompressionError.trailingBytes(codec: .gzip, count: 3)) { try GzipCodec.decompress(junk, bytesMax: 1 << 20) }
        let truncated = Self.member.getSlice(at: 0, length: Self.member.readableBytes - 5)!
        #expect(throws: CompressionError.truncated(codec: .gzip)) { try GzipCodec.decompress(truncated, bytesMax: 1 << 20) }
        #expect(throws: CompressionError.self) { try GzipCodec.decompress(ByteBuffer(bytes: [0x1F, 0x8B, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]), bytesMax: 100) }
        #expect(throws: CompressionError.truncated(codec: .gzip)) { try GzipCodec.decompress(ByteBuffer(), bytesMax: 100) }
    }

    @Test func decompressionBombStopsAtTheBound() throws {
        let bomb = try GzipCodec.compress(ByteBuffer(repeating: 0, count: 8 << 20))
        #expect(bomb.readableBytes < 64 * 1024)
        #expect(throws: CompressionError.outputTooLarge(codec: .gzip, bytesMax: 1 << 20)) {
            try GzipCodec.decompress(bomb, bytesMax: 1 << 20)
        }
    }

    @Test func compressRoundTripsAndWritesAGzipHeader() throws {
        let input = ByteBuffer(bytes: Array(repeating: Array("gzip me ".utf8), count: 1000).flatMap { $0 })
        let compressed = try GzipCodec.compress(input)
        #expect(compressed.getBytes(at: 0, length: 2) == [0x1F, 0x8B])
        #expect(try GzipCodec.decompress(compressed, bytesMax: 1 << 20) == input)
    }

    @Test func unsupportedCodecsAreRefusedByTheDispatcher() {
        for codec in [CompressionCodec.snappy, .zstd] {
            #expect(throws: CompressionError.unsupported(codecID: codec.rawValue)) {
                try codec.decompress(ByteBuffer(bytes: [1]), bytesMax: 10)
            }
        }
    }
}
