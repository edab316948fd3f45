/// Maps a record key to a partition. The partition is a pure function of the key bytes and the
/// partition count, so every event of one key stays in one ordered lane (DESIGN §1).
///
/// Conforming types hash bytes; `partition(forKey:count:)` turns the hash into an index the way
/// the client that defined the hasher does, so that Sluice agrees with that client on every key.
public protocol KeyHasher: Sendable {
    /// A short name for CLIs and logs (`murmur2`, `crc32`, …).
    var name: String { get }
    /// The 32-bit hash of `key`.
    func hash(_ key: UnsafeRawBufferPointer) -> UInt32
    /// The partition for `key` among `count` partitions.
    func partition(forKey key: UnsafeRawBufferPointer, count: Int32) -> PartitionIndex
}

extension KeyHasher {
    /// Default: the unsigned hash modulo the count (librdkafka's `consistent`, Iggy).
    public func partition(forKey key: UnsafeRawBufferPointer, count: Int32) -> PartitionIndex {
        precondition(count > 0, "a topic has at least one partition")
        return PartitionIndex(Int32(hash(key) % UInt32(count)))
    }

    public func hash<Bytes: Collection<UInt8>>(_ key: Bytes) -> UInt32 {
        if let result = key.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(key).withUnsafeBytes { hash($0) }
    }

    public func partition<Bytes: Collection<UInt8>>(forKey key: Bytes, count: Int32) -> PartitionIndex {
        if let result = key.withContiguousStorageIfAvailable({
            partition(forKey: UnsafeRawBufferPointer($0), count: count)
        }) {
            return result
        }
        return Array(key).withUnsafeBytes { partition(forKey: $0, count: count) }
    }

    public func partition(forKey key: String, count: Int32) -> PartitionIndex {
        partition(forKey: Array(key.utf8), count: count)
    }
}

/// Kafka's positive-modulo rule: `toPositive(h) % n` with `toPositive(x) = x & 0x7fffffff`
/// (`BuiltInPartitioner.partitionForKey`). Shared by the murmur hashers.
@inlinable
func kafkaPositiveModulo(_ hash: UInt32, _ count: Int32) -> PartitionIndex {
    precondition(count > 0, "a topic has at least one partition")
    return PartitionIndex(Int32(bitPattern: hash & 0x7fff_ffff) % count)
}

/// Reads a little-endian 32-bit word at `offset` (unaligned).
@inlinable
func loadLittleEndianUInt32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

/// The hashers Sluice ships, for configuration and the CLI's `--hasher`.
public enum KeyHasherKind: String, CaseIterable, Sendable {
    case murmur2, murmur3, crc32
    case xxHash32 = "xxhash32"

    public var hasher: any KeyHasher {
        switch self {
        case .murmur2: Murmur2Hasher()
        case .murmur3: Murmur3Hasher()
        case .crc32: CRC32Hasher()
        case .xxHash32: XXHash32Hasher()
        }
    }
}
