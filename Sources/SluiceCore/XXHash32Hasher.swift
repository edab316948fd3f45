/// xxHash32 (Yann Collet's XXH32), seed 0 by default, as Iggy uses for keyed partitioning.
/// Partition = `hash % n` over the unsigned value.
public struct XXHash32Hasher: KeyHasher {
    public let seed: UInt32
    public init(seed: UInt32 = 0) { self.seed = seed }
    public var name: String { "xxhash32" }

    private static let prime1: UInt32 = 0x9E37_79B1
    private static let prime2: UInt32 = 0x85EB_CA77
    private static let prime3: UInt32 = 0xC2B2_AE3D
    private static let prime4: UInt32 = 0x27D4_EB2F
    private static let prime5: UInt32 = 0x1656_67B1

    @inline(__always)
    private static func round(_ acc: UInt32, _ input: UInt32) -> UInt32 {
        (acc &+ input &* prime2).rotatedLeft(13) &* prime1
    }

    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let length = key.count
        var offset = 0
        var h: UInt32
        if length >= 16 {
            var v1 = seed &+ Self.prime1 &+ Self.prime2
            var v2 = seed &+ Self.prime2
            var v3 = seed
            var v4 = seed &- Self.prime1
            while offset + 16 <= length {
                v1 = Self.round(v1, loadLittleEndianUInt32(key, offset))
                v2 = Self.round(v2, loadLittleEndianUInt32(key, offset + 4))
                v3 = Self.round(v3, loadLittleEndianUInt32(key, offset + 8))
                v4 = Self.round(v4, loadLittleEndianUInt32(key, offset + 12))
                offset += 16
            }
            h = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
        } else {
            h = seed &+ Self.prime5
        }
        h &+= UInt32(truncatingIfNeeded: length)
        while offset + 4 <= length {
            h &+= loadLittleEndianUInt32(key, offset) &* Self.prime3
            h = h.rotatedLeft(17) &* Self.prime4
            offset += 4
        }
        while offset < length {
            h &+= UInt32(key[offset]) &* Self.prime5
            h = h.rotatedLeft(11) &* Self.prime1
            offset += 1
        }
        h ^= h >> 15
        h &*= Self.prime2
        h ^= h >> 13
        h &*= Self.prime3
        h ^= h >> 16
        return h
    }
}
