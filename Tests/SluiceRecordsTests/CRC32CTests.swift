import NIOCore
import Testing

@testable import SluiceRecords

@Suite struct CRC32CTests {
    static let implementations = CRC32C.Implementation.allCases.filter(\.isAvailable)

    /// Bit-at-a-time CRC-32C: slow, obviously right, and independent of both implementations.
    static func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 0 ? 0 : 0x82F6_3B78) }
        }
        return ~crc
    }

    @Test(arguments: implementations)
    func checksumOfStandardCheckStringIsE3069283(implementation: CRC32C.Implementation) {
        #expect(CRC32C.checksum(Array("123456789".utf8), implementation: implementation) == 0xE306_9283)
    }

    @Test(arguments: implementations)
    func checksumOfNothingIsZero(implementation: CRC32C.Implementation) {
        #expect(CRC32C.checksum([UInt8](), implementation: implementation) == 0)
    }

    @Test func hardwareIsUsedOnThisX86Machine() {
        #if arch(x86_64)
        #expect(CRC32C.Implementation.preferred == .hardware, "this CPU has SSE4.2; the table would be slow")
        #endif
    }

    @Test func hardwareTableAndBitwiseAgreeOnRandomData() {
        var rng = SystemRandomNumberGenerator()
        // Lengths around the hardware path's three-lane cut-offs (3 × 256 and 3 × 8192 bytes).
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 767, 768, 769, 1000, 4096 + 3,
                       3 * 8192 - 1, 3 * 8192, 3 * 8192 + 13, 2 * 3 * 8192 + 3 * 256 + 5] {
            for _ in 0..<3 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let expected = Self.bitwise(bytes)
                for implementation in Self.implementations {
                    #expect(CRC32C.checksum(bytes, implementation: implementation) == expected,
                            "\(implementation) length \(length)")
                }
            }
        }
    }

    @Test(arguments: implementations)
    func incrementalUpdatesOverAnySplitEqualOneShot(implementation: CRC32C.Implementation) {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<777).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = CRC32C.checksum(bytes, implementation: implementation)
        for split in [0, 1, 5, 8, 100, 776, 777] {
            var crc = CRC32C(implementation: implementation)
            crc.update(bytes[..<split])
            crc.update(bytes[split...])
            #expect(crc.value == whole, "split at \(split)")
        }
    }

    @Test(arguments: implementations)
    func updateReadsAByteBufferRegionInPlace(implementation: CRC32C.Implementation) {
        var buffer = ByteBuffer(bytes: Array("xx123456789yy".utf8))
        buffer.moveReaderIndex(forwardBy: 1)  // the region is absolute, not relative to the reader
        var crc = CRC32C(implementation: implementation)
        crc.update(buffer, at: 2, length: 4)
        crc.update(buffer, at: 6, length: 5)
        #expect(crc.value == 0xE306_9283)
    }
}
