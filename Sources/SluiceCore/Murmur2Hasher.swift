/// MurmurHash2, 32-bit, exactly as Kafka's Java client computes it (`Utils.murmur2`): seed
/// `0x9747b28c`, little-endian words, and the tail folded as `[2]<<16, [1]<<8, [0]`.
/// Partition = `toPositive(murmur2(key)) % n`, as Java, kafka-python, aiokafka and librdkafka's
/// `murmur2_random` all compute it. This is the Swift client's default.
public struct Murmur2Hasher: KeyHasher {
    public static let seed: UInt32 = 0x9747_b28c
    public init() {}
    public var name: String { "murmur2" }

    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = key.count
        var h = Self.seed ^ UInt32(truncatingIfNeeded: length)
        let wordCount = length / 4
        for i in 0..<wordCount {
            var k = loadLittleEndianUInt32(key, i * 4)
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = wordCount * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(key[tail + 2]) << 16
            h ^= UInt32(key[tail + 1]) << 8
            h ^= UInt32(key[tail])
            h &*= m
        case 2:
            h ^= UInt32(key[tail + 1]) << 8
            h ^= UInt32(key[tail])
            h &*= m
        case 1:
            h ^= UInt32(key[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }

    public func partition(forKey key: UnsafeRawBufferPointer, count: Int32) -> PartitionIndex {
        kafkaPositiveModulo(hash(key), count)
    }
}
