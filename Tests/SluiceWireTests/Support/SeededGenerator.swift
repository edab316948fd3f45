import NIOCore
import SluiceWire
import SluiceCore
import Testing

/// SplitMix64: a tiny seeded generator, so every randomized test reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator per (seed, name), so each message type draws its own stream.
    init(seed: UInt64, salt: String) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in salt.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        state = seed ^ hash
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True once in `n` draws.
    mutating func chance(_ n: UInt64) -> Bool { next() % n == 0 }

    /// A short array length; nesting keeps messages small.
    mutating func count() -> Int { Int(next() % 4) }

    /// Any value of `T`, with the edges (min, max, -1, 0) drawn often: they are where
    /// sign and width bugs hide.
    mutating func integer<T: FixedWidthInteger>(_ type: T.Type) -> T {
        switch next() % 8 {
        case 0: T.min
        case 1: T.max
        case 2: T.isSigned ? T(-1) : T(0)
        case 3: T(0)
        default: T(truncatingIfNeeded: next())
        }
    }

    mutating func bool() -> Bool { next() & 1 == 1 }

    mutating func double() -> Double { Double(bitPattern: next() & ~(0x7FF0 << 48)) }

    mutating func uuid() -> KafkaUUID { KafkaUUID(high: next(), low: next()) }

    /// Strings mix ASCII with multi-byte UTF-8 so byte lengths differ from character counts.
    mutating func string() -> String {
        let alphabet = Array("abcXYZ09._-é✓")
        return String((0..<Int(next() % 12)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
    }

    mutating func bytes() -> [UInt8] { (0..<Int(next() % 16)).map { _ in UInt8(truncatingIfNeeded: next()) } }

    mutating func records() -> ByteBuffer { ByteBuffer(bytes: bytes() + bytes()) }
}
