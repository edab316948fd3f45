import SluiceCore
import Testing

/// Published test vectors for each key hasher (sources in `../shared/kafka-protocol/CLIENTS.md` §3
/// and each algorithm's reference implementation).
@Suite struct KeyHasherTests {
    @Test(arguments: [
        // apache/kafka UtilsTest.testMurmur2 (signed int32)
        ("21", Int32(-973932308)),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ])
    func murmur2MatchesKafkaJavaClient(key: String, expected: Int32) {
        #expect(Int32(bitPattern: Murmur2Hasher().hash(Array(key.utf8))) == expected)
    }

    @Test(arguments: [
        // librdkafka src/rdmurmur2.c unit test
        ("kafka", UInt32(0xd067cf64)),
        ("giberish123456789", 0x8f552b0c),
        ("1234", 0x9fc97b14),
        ("", 0x106e08d9),
    ])
    func murmur2MatchesLibrdkafka(key: String, expected: UInt32) {
        #expect(Murmur2Hasher().hash(Array(key.utf8)) == expected)
    }

    @Test func murmur2PartitionIsToPositiveModulo() {
        // librdkafka tests/0048-partitioner.c: murmur2 & 0x7fffffff
        let hasher = Murmur2Hasher()
        #expect(hasher.hash(Array("23456".utf8)) & 0x7fff_ffff == 0x058d780f)
        #expect(hasher.hash(Array("hejsan".utf8)) & 0x7fff_ffff == 0x5ec19395)
        #expect(hasher.partition(forKey: "23456", count: 3).rawValue == Int32(0x058d780f % 3))
        // A negative murmur2 must still give a non-negative partition.
        #expect(hasher.partition(forKey: "21", count: 7).rawValue == Int32((-973932308 & 0x7fff_ffff) % 7))
    }

    @Test(arguments: [
        // librdkafka tests/0048-partitioner.c; zlib crc32
        ("23456", UInt32(0xb1b451d7)),
        ("hejsan", 0xd077037e),
        ("123456789", 0xCBF43926),  // the CRC-32 check value
        ("", 0),
    ])
    func crc32MatchesZlib(key: String, expected: UInt32) {
        #expect(CRC32Hasher().hash(Array(key.utf8)) == expected)
    }

    @Test func crc32PartitionIsUnsignedModulo() {
        #expect(CRC32Hasher().partition(forKey: "23456", count: 3).rawValue == Int32(0xb1b451d7 % 3))
    }

    @Test(arguments: [
        // SMHasher / reference MurmurHash3_x86_32 vectors
        ("", UInt32(0), UInt32(0)),
        ("", 1, 0x514E28B7),
        ("", 0xffffffff, 0x81F16F39),
        ("hello", 0, 0x248bfa47),
        ("The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723),
        ("aaaa", 0x9747b28c, 0x5A97808A),
        ("abc", 0, 0xB3DD93FA),
    ])
    func murmur3MatchesReference(key: String, seed: UInt32, expected: UInt32) {
        #expect(Murmur3Hasher(seed: seed).hash(Array(key.utf8)) == expected)
    }

    @Test(arguments: [
        // xxHash reference XXH32 vectors, re-checked with python-xxhash
        ("", UInt32(0), UInt32(0x02CC5D05)),
        ("a", 0, 0x550D7456),
        ("abc", 0, 0x32D153FF),
        ("Nobody inspects the spammish repetition", 0, 0xE2293B2F),
        ("abcdefghijklmnopqrstuvwxyz0123456789", 0, 0x42AE804D),  // python-xxhash (the reference C library),
    ])
    func xxHash32MatchesReference(key: String, seed: UInt32, expected: UInt32) {
        #expect(XXHash32Hasher(seed: seed).hash(Array(key.utf8)) == expected)
    }

    @Test func everyHasherSpreadsKeysOverAllPartitions() {
        for kind in KeyHasherKind.allCases {
            var seen = Set<Int32>()
            for i in 0..<1000 {
                let p = kind.hasher.partition(forKey: "key-\(i)", count: 12)
                #expect((0..<12).contains(p.rawValue), "\(kind) gave \(p)")
                seen.insert(p.rawValue)
            }
            #expect(seen.count == 12, "\(kind) reached only \(seen.count) of 12 partitions")
        }
    }

    @Test func hashOfNonContiguousCollectionEqualsHashOfArray() {
        let key = Array("order-42".utf8)
        for kind in KeyHasherKind.allCases {
            #expect(kind.hasher.hash(key.lazy.map { $0 }) == kind.hasher.hash(key))
        }
    }
}
