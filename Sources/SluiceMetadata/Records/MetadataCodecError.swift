/// Why bytes from the metadata log could not be decoded into records.
///
/// Decoding never traps (DESIGN §1): a corrupt or newer-than-known entry becomes one of these,
/// and the applier skips the entry and reports it, as every node does for the same bytes.
public enum MetadataCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `field` needs `needed` bytes but only `available` remain.
    case truncated(field: String, needed: Int, available: Int)
    /// The record's type tag is not one this build knows.
    case unknownKind(UInt8)
    /// The record (or batch) layout version is newer than this build reads.
    case unsupportedVersion(kind: String, version: UInt8)
    /// A length or count is larger than its limit or than the bytes that remain.
    case countTooLarge(field: String, count: Int, max: Int)
    /// A value is out of its domain (bad UTF-8, illegal topic name, flag not 0 or 1, ...).
    case invalidValue(field: String, reason: String)
    /// Bytes are left after the last record.
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available):
            "metadata record field \(field): needs \(needed) bytes but \(available) remain"
        case .unknownKind(let tag): "unknown metadata record type \(tag)"
        case .unsupportedVersion(let kind, let version): "\(kind) version \(version) is not supported"
        case .countTooLarge(let field, let count, let max):
            "metadata record field \(field): \(count) exceeds the limit of \(max)"
        case .invalidValue(let field, let reason): "metadata record field \(field): \(reason)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the last metadata record"
        }
    }
}
