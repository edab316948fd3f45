import NIOCore

/// Dispatches a record section to its codec's implementation. Only codecs that `isSupported`
/// have one; snappy and zstd throw `.unsupported`.
extension CompressionCodec {
    /// `input` decompressed into at most `bytesMax` bytes. Codec none returns `input` itself.
    public func decompress(_ input: ByteBuffer, bytesMax: Int,
                           allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        switch self {
        case .none: return input
        case .gzip: return try GzipCodec.decompress(input, bytesMax: bytesMax, allocator: allocator)
        case .lz4: return try LZ4FrameCodec.decompress(input, bytesMax: bytesMax, allocator: allocator)
        case .snappy, .zstd: throw .unsupported(codecID: rawValue)
        }
    }

    /// `input` compressed in the form Kafka clients expect. Only `.unsupported` is an expected
    /// error: with an output buffer of the codec's bound size, compressing cannot fail.
    public func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        switch self {
        case .none: return input
        case .gzip: return try GzipCodec.compress(input, allocator: allocator)
        case .lz4: return try LZ4FrameCodec.compress(input, allocator: allocator)
        case .snappy, .zstd: throw .unsupported(codecID: rawValue)
        }
    }
}
