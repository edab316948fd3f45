import CLZ4
import NIOCore

/// Kafka's lz4 codec: the standard LZ4 frame format with independent blocks (KIP-57), through
/// liblz4's LZ4F API.
///
/// Frame header as clients send it:
/// ```
/// 04 22 4D 18   magic 0x184D2204, little-endian
/// FLG           bits 7-6 version (01), 5 block independence, 4 block checksums,
///               3 content size present, 2 content checksum, 0 dictionary id
/// BD            bits 6-4 block max size (4 = 64 KiB … 7 = 4 MiB)
/// [8 bytes content size] [4 bytes dict id]  HC (header checksum byte)
/// ```
/// Observed FLG: librdkafka 0x60, python-lz4 (kafka-python) 0x68 (content size), cramjam
/// (aiokafka) 0x70 (block checksums). All decompress here; a frame without the independence
/// bit is refused, as Kafka's `Lz4BlockInputStream` refuses it. The magic-0 variant with a
/// broken header checksum (KAFKA-3160) never appears in magic-2 batches and is not accepted.
public enum LZ4FrameCodec {
    static let magic: UInt32 = 0x184D_2204
    static let independentBlocksFlag: UInt8 = 0x20

    public static func decompress(_ input: ByteBuffer, bytesMax: Int,
                                  allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        let start = input.readerIndex
        guard input.readableBytes >= 7 else { throw .truncated(codec: .lz4) }
        guard input.getInteger(at: start, endianness: .little, as: UInt32.self) == magic else {
            throw .malformed(codec: .lz4, detail: "not an LZ4 frame (bad magic)")
        }
        guard input.getInteger(at: start + 4, as: UInt8.self)! & independentBlocksFlag != 0 else {
            throw .dependentBlocks
        }

        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, sluice_LZ4F_VERSION())) == 0,
              let context else {
            preconditionFailure("LZ4F_createDecompressionContext failed: out of memory")
        }
        defer { LZ4F_freeDecompressionContext(context) }

        var output = allocator.buffer(capacity: min(bytesMax, max(64 * 1024, input.readableBytes * 4)))
        var consumed = 0
        let outcome: CompressionError? = input.withUnsafeReadableBytes { source -> CompressionError? in
            while true {
                let room = bytesMax - output.readableBytes
                if room > 0, output.writableBytes == 0 {
                    output.reserveCapacity(minimumWritableBytes: min(room, max(output.capacity, 64 * 1024)))
                }
                // Never offer liblz4 more room than the bound allows: that is the bomb guard.
                let offered = min(output.writableBytes, room)
                var sourceSize = source.count - consumed
                var written = 0
                var hint = 0
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { destination in
                    var destinationSize = offered
                    hint = LZ4F_decompress(context, destination.baseAddress, &destinationSize,
                                           source.baseAddress.map { $0 + consumed }, &sourceSize, nil)
                    written = destinationSize
                    return destinationSize
                }
                consumed += sourceSize
                if LZ4F_isError(hint) != 0 {
                    return .malformed(codec: .lz4, detail: String(cString: LZ4F_getErrorName(hint)))
                }
                if hint == 0 { return nil }
                if sourceSize == 0, written == 0 {
                    // No progress: out of room, out of input, or (never seen) a stuck decoder.
                    if offered == 0 { return .outputTooLarge(codec: .lz4, bytesMax: bytesMax) }
                    if consumed == source.count { return .truncated(codec: .lz4) }
                    return .malformed(codec: .lz4, detail: "decoder made no progress")
                }
            }
        }
        if let outcome { throw outcome }
        if consumed < input.readableBytes {
            throw .trailingBytes(codec: .lz4, count: input.readableBytes - consumed)
        }
        return output
    }

    /// One LZ4 frame with independent 64 KiB blocks and no checksums (FLG 0x60, BD 0x40), the
    /// form librdkafka writes and every Kafka reader accepts.
    public static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        let bound = LZ4F_compressFrameBound(input.readableBytes, &preferences)
        var output = allocator.buffer(capacity: bound)
        var failure: String?
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
                let size = LZ4F_compressFrame(destination.baseAddress, destination.count,
                                              source.baseAddress, source.count, &preferences)
                if LZ4F_isError(size) != 0 {
                    failure = String(cString: LZ4F_getErrorName(size))
                    return 0
                }
                return size
            }
        }
        if let failure { throw .malformed(codec: .lz4, detail: failure) }
        return output
    }
}
