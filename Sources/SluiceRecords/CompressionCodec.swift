/// The codec of a batch's record section: bits 0-2 of the batch attributes.
public enum CompressionCodec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Whether Sluice can decompress and build batches with this codec. snappy and zstd
    /// batches are refused with UNSUPPORTED_COMPRESSION_TYPE rather than stored unreadable.
    public var isSupported: Bool {
        switch self {
        case .none, .gzip, .lz4: true
        case .snappy, .zstd: false
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}
