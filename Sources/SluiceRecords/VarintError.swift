/// Why a varint could not be read. Varints appear only inside records, so callers wrap this
/// in `RecordBatchError` with the record's position.
public enum VarintError: Error, Hashable, Sendable {
    /// The buffer ended before the varint's last byte (one without the continuation bit).
    case truncated
    /// More bytes than the type allows (5 for a 32-bit varint, 10 for a 64-bit varlong) carried
    /// the continuation bit, or the last byte sets bits beyond the type's width.
    case overlong(bytesMax: Int)
}
