import NIOCore

/// Dispatches a record section to its codec. Only codecs that `CompressionCodec.isSupported`
/// says Sluice has are implemented; the others throw `.unsupported`.
public enum Compression {
    /// `input` decompressed into at most `bytesMax` bytes. Codec none returns `input` itself.
    public static func decompress(_ input: ByteBuffer, codec: CompressionCodec, bytesMax: Int,
                                  allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        switch codec {
        case .none: return input
        case .gzip: return try GzipCodec.decompress(input, bytesMax: bytesMax, allocator: allocator)
        case .lz4: return try LZ4FrameCodec.decompress(input, bytesMax: bytesMax, allocator: allocator)
        case .snappy, .zstd: throw .unsupported(codecID: codec.rawValue)
        }
    }

    /// `input` compressed with `codec` in the form Kafka clients expect.
    public static func compress(_ input: ByteBuffer, codec: CompressionCodec,
                                allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        switch codec {
        case .none: return input
        case .gzip: return try GzipCodec.compress(input, allocator: allocator)
        case .lz4: return try LZ4FrameCodec.compress(input, allocator: allocator)
        case .snappy, .zstd: throw .unsupported(codecID: codec.rawValue)
        }
    }
}
