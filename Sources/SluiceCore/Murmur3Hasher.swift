/// MurmurHash3 x86_32 (Austin Appleby's reference `MurmurHash3_x86_32`), seed 0 by default.
/// Partition = `toPositive(hash) % n`, as for murmur2.
public struct Murmur3Hasher: KeyHasher {
    public let seed: UInt32
    public init(seed: UInt32 = 0) { self.seed = seed }
    public var name: String { "murmur3" }

    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51
        let c2: UInt32 = 0x1b87_3593
        let length = key.count
        var h = seed
        let blockCount = length / 4
        for i in 0..<blockCount {
            var k = loadLittleEndianUInt32(key, i * 4)
            k &*= c1
            k = k.rotatedLeft(15)
            k &*= c2
            h ^= k
            h = h.rotatedLeft(13)
            h = h &* 5 &+ 0xe654_6b64
        }
        let tail = blockCount * 4
        var k: UInt32 = 0
        let rest = length & 3
        if rest >= 3 { k ^= UInt32(key[tail + 2]) << 16 }
        if rest >= 2 { k ^= UInt32(key[tail + 1]) << 8 }
        if rest >= 1 {
            k ^= UInt32(key[tail])
            k &*= c1
            k = k.rotatedLeft(15)
            k &*= c2
            h ^= k
        }
        h ^= UInt32(truncatingIfNeeded: length)
        h ^= h >> 16
        h &*= 0x85eb_ca6b
        h ^= h >> 13
        h &*= 0xc2b2_ae35
        h ^= h >> 16
        return h
    }

    public func partition(forKey key: UnsafeRawBufferPointer, count: Int32) -> PartitionIndex {
        kafkaPositiveModulo(hash(key), count)
    }
}

extension UInt32 {
    @inlinable
    func rotatedLeft(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
}
