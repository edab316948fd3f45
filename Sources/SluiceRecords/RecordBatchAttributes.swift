/// The int16 attributes of a RecordBatch v2 (offset 21, covered by the CRC):
///
/// ```
/// bit  15..7  6              5        4              3              2..0
///      unused deleteHorizon  control  transactional  timestampType  codec
/// ```
/// `timestampType` 0 = CreateTime (the producer's clock), 1 = LogAppendTime (the broker's).
/// The codec is kept as a raw 3-bit value so that a batch with an unknown codec (5-7) can still
/// be viewed and reported, not rejected before its header is readable.
public struct RecordBatchAttributes: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public init(codec: CompressionCodec = .none, timestampType: TimestampType = .createTime,
                isTransactional: Bool = false, isControl: Bool = false) {
        rawValue = Int16(codec.rawValue)
        if timestampType == .logAppendTime { rawValue |= Self.timestampTypeBit }
        if isTransactional { rawValue |= Self.transactionalBit }
        if isControl { rawValue |= Self.controlBit }
    }

    static let codecMask: Int16 = 0x07
    static let timestampTypeBit: Int16 = 1 << 3
    static let transactionalBit: Int16 = 1 << 4
    static let controlBit: Int16 = 1 << 5
    static let deleteHorizonBit: Int16 = 1 << 6

    /// The codec id, 0-7. See `codec` for the known ones.
    public var codecID: UInt8 { UInt8(rawValue & Self.codecMask) }
    /// The codec, or nil for ids 5-7, which no Kafka version defines.
    public var codec: CompressionCodec? { CompressionCodec(rawValue: codecID) }
    public var timestampType: TimestampType {
        rawValue & Self.timestampTypeBit == 0 ? .createTime : .logAppendTime
    }
    public var isTransactional: Bool { rawValue & Self.transactionalBit != 0 }
    /// Control batches carry transaction markers, not user records.
    public var isControl: Bool { rawValue & Self.controlBit != 0 }
    /// Set by log compaction (KIP-534): `baseTimestamp` then holds the delete horizon.
    public var hasDeleteHorizon: Bool { rawValue & Self.deleteHorizonBit != 0 }
}
