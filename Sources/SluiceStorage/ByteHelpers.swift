/// Big-endian integer helpers for the small fixed-layout files storage owns.
extension Array where Element == UInt8 {
    @inlinable
    func bigEndianUInt32(at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(self[index + i]) }
        return value
    }

    @inlinable
    func bigEndianUInt64(at index: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(self[index + i]) }
        return value
    }

    @inlinable
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}
