/// The standard zlib CRC-32 (reflected polynomial 0xEDB88320), as librdkafka's default
/// `consistent_random` partitioner uses it: partition = `crc32(key) % n` over the unsigned
/// value (`rd_kafka_msg_partitioner_consistent`). kcat and confluent-kafka place keys this way.
public struct CRC32Hasher: KeyHasher {
    public init() {}
    public var name: String { "crc32" }

    /// Slicing-by-1 table, built once.
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        return c
    }

    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        Self.table.withUnsafeBufferPointer { table in
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in key {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
            return crc ^ 0xFFFF_FFFF
        }
    }
}
