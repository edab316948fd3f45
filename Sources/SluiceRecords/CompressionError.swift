/// Why a compressed record section could not be decompressed (or, rarely, compressed).
public enum CompressionError: Error, Hashable, Sendable {
    /// The input is not a stream of this codec: bad magic, bad header, or a corrupt block.
    /// `detail` is the codec library's own message where it gives one.
    case malformed(codec: CompressionCodec, detail: String)
    /// An LZ4 frame whose blocks depend on earlier ones. Kafka (KIP-57) allows only independent
    /// blocks, and so does its reader; so does Sluice.
    case dependentBlocks
    /// The stream ended before its end marker.
    case truncated(codec: CompressionCodec)
    /// Bytes follow the end of the compressed stream.
    case trailingBytes(codec: CompressionCodec, count: Int)
    /// Decompressing would exceed `bytesMax` (a decompression bomb, or a batch too big to serve).
    case outputTooLarge(codec: CompressionCodec, bytesMax: Int)
    /// The codec has no implementation in Sluice (snappy, zstd).
    case unsupported(codecID: UInt8)
}
