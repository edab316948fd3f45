import CSluiceCRC32C
import NIOCore

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
/// `crc32c("123456789") == 0xE3069283`.
///
/// A running value: start with `CRC32C()`, `update` with as many byte regions as needed (no
/// copies; a `ByteBuffer` region is read in place), then read `value`. Uses the CPU's `crc32`
/// instruction (SSE4.2 / ARMv8 CRC) when present, else a slicing-by-8 table in Swift.
public struct CRC32C: Hashable, Sendable {
    /// Which implementation computes the checksum; both give identical results.
    public enum Implementation: Sendable, CaseIterable {
        case hardware
        case table

        /// `.hardware` when this CPU has a CRC-32C instruction, else `.table`.
        public static let preferred: Implementation =
            sluice_crc32c_hardware_available() != 0 ? .hardware : .table
        public var isAvailable: Bool { self == .table || Self.preferred == .hardware }
    }

    /// The running register before final inversion. Invariant: `value == ~state`.
    private var state: UInt32 = 0xFFFF_FFFF
    public let implementation: Implementation

    public init(implementation: Implementation = .preferred) {
        precondition(implementation.isAvailable, "CRC-32C hardware instruction not available on this CPU")
        self.implementation = implementation
    }

    /// The checksum of everything passed to `update` so far.
    public var value: UInt32 { ~state }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        switch implementation {
        case .hardware: state = sluice_crc32c_hardware_update(state, base, bytes.count)
        case .table: state = CRC32CTable.update(state, bytes)
        }
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Adds `length` bytes of `buffer` starting at absolute index `index`, in place.
    /// Precondition: the region lies within the buffer's readable bytes.
    public mutating func update(_ buffer: ByteBuffer, at index: Int, length: Int) {
        precondition(index >= buffer.readerIndex && length >= 0 && index + length <= buffer.writerIndex,
                     "CRC region \(index)..<\(index + length) outside readable bytes")
        buffer.withUnsafeReadableBytes { bytes in
            let start = index - buffer.readerIndex
            update(UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]))
        }
    }

    /// The checksum of `bytes` in one call.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, implementation: Implementation = .preferred) -> UInt32 {
        var crc = CRC32C(implementation: implementation)
        crc.update(bytes)
        return crc.value
    }

    public static func checksum(_ bytes: some Sequence<UInt8>, implementation: Implementation = .preferred) -> UInt32 {
        var crc = CRC32C(implementation: implementation)
        crc.update(bytes)
        return crc.value
    }
}

/// The slicing-by-8 tables: `tables[k][b]` is the CRC of byte `b` followed by `k` zero bytes,
/// so eight input bytes are folded with eight lookups and no per-bit work.
enum CRC32CTable {
    static let polynomial: UInt32 = 0x82F6_3B78

    /// 8 × 256 entries, row-major.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 0 ? 0 : polynomial) }
            t[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = t[(k - 1) * 256 + byte]
                t[k * 256 + byte] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    static func update(_ initial: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var crc = initial
            var index = 0
            let count = bytes.count
            while count - index >= 8 {
                let low = bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let high = bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
            return crc
        }
    }
}
