import NIOCore
import SluiceCore

/// A zero-copy view of one RecordBatch v2 (magic 2), the unit in which Kafka producers send,
/// brokers store and consumers fetch records. Sluice stores batches exactly as they arrive.
///
/// Layout (big-endian; "CRC" marks the bytes covered by the CRC-32C, i.e. [21, end)):
/// ```
/// off size field                 notes
///   0   8  baseOffset            offset of the first record; patched by the leader
///   8   4  batchLength           bytes after this field: total size = 12 + batchLength
///  12   4  partitionLeaderEpoch  patched by the leader; -1 from producers
///  16   1  magic                 2
///  17   4  crc                   CRC-32C (Castagnoli) of bytes [21, end), unsigned
///  21   2  attributes            CRC  codec, timestampType, transactional, control (RecordBatchAttributes)
///  23   4  lastOffsetDelta       CRC  offset of the last record minus baseOffset
///  27   8  baseTimestamp         CRC  first record's timestamp (ms); records store deltas
///  35   8  maxTimestamp          CRC  largest record timestamp (or LogAppendTime)
///  43   8  producerId            CRC  -1 unless idempotent/transactional
///  51   2  producerEpoch         CRC
///  53   4  baseSequence          CRC  first record's sequence number, -1 if none
///  57   4  recordsCount          CRC  never compressed
///  61   …  records               CRC  the records (see `Record`); one compressed stream if codec ≠ 0
/// ```
/// Because baseOffset and partitionLeaderEpoch lie outside the CRC, the leader assigns them
/// with `assign(baseOffset:partitionLeaderEpoch:)` and the CRC stays valid.
///
/// `bytes` holds exactly the batch (its readable bytes are bytes 0..<totalBytes). The view
/// reads fields in place; it never copies or decompresses unless asked for records.
public struct RecordBatch: Sendable {
    /// The size of the fixed header, before the records.
    public static let headerBytes = 61
    /// Bytes before and including `batchLength`, which `batchLength` does not count.
    public static let lengthPrefixBytes = 12
    /// The first byte the CRC covers.
    public static let crcCoverageStart = 21
    public static let magicV2: Int8 = 2

    /// Exactly this batch's bytes. Invariant: at least `headerBytes` readable bytes.
    public private(set) var bytes: ByteBuffer

    /// Views `buffer`'s readable bytes as a batch after checking everything a broker checks on
    /// Produce (Kafka's `DefaultRecordBatch.ensureValid` and `LogValidator.validateBatch`):
    /// size within `bytesMax`, `12 + batchLength` equal to the buffer's size, magic 2, the CRC,
    /// `recordsCount > 0` and `== lastOffsetDelta + 1`, and a codec Sluice can read. Nothing
    /// is decompressed.
    public init(validating buffer: ByteBuffer, bytesMax: Int = Limits.batchBytesMax,
                verifyCRC: Bool = true) throws(RecordBatchError) {
        try Self.checkHeader(buffer, bytesMax: bytesMax)
        let declared = Self.lengthPrefixBytes + Int(buffer.getInteger(at: buffer.readerIndex + 8, as: Int32.self)!)
        guard declared == buffer.readableBytes else {
            throw .lengthMismatch(declaredBytes: declared, actualBytes: buffer.readableBytes)
        }
        self.bytes = buffer
        if verifyCRC {
            let computed = computeCRC()
            guard computed == crc else { throw .crcMismatch(stored: crc, computed: computed) }
        }
        let count = recordsCount
        guard count > 0, count <= Limits.batchRecordsMax, Int64(count) == Int64(lastOffsetDelta) + 1 else {
            throw .invalidRecordsCount(recordsCount: count, lastOffsetDelta: lastOffsetDelta)
        }
        guard attributes.codec?.isSupported == true else {
            throw .unsupportedCompression(codecID: attributes.codecID)
        }
    }

    /// Views a batch that was validated before (for example when it was appended to the log).
    /// Precondition: at least `headerBytes` readable bytes.
    public init(unchecked buffer: ByteBuffer) {
        precondition(buffer.readableBytes >= Self.headerBytes, "a record batch has at least 61 bytes")
        self.bytes = buffer
    }

    /// The checks that need only the first 17 bytes: enough to size the batch and know its
    /// format. Shared with `RecordBatchSplitter`, which must size batches before it has them.
    static func checkHeader(_ buffer: ByteBuffer, bytesMax: Int) throws(RecordBatchError) {
        guard buffer.readableBytes >= headerBytes else { throw .batchTooSmall(bytes: buffer.readableBytes) }
        let start = buffer.readerIndex
        let total = lengthPrefixBytes + Int(buffer.getInteger(at: start + 8, as: Int32.self)!)
        guard total >= headerBytes else { throw .batchTooSmall(bytes: total) }
        guard total <= bytesMax else { throw .batchTooLarge(bytes: total, bytesMax: bytesMax) }
        let magic = buffer.getInteger(at: start + 16, as: Int8.self)!
        guard magic == magicV2 else { throw .unsupportedMagic(magic) }
    }

    // MARK: header fields

    private func field<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        bytes.getInteger(at: bytes.readerIndex + offset, as: T.self)!
    }

    public var baseOffset: Offset { Offset(field(0)) }
    /// Bytes after the `batchLength` field; the batch is `12 + batchLength` bytes.
    public var batchLength: Int32 { field(8) }
    public var partitionLeaderEpoch: LeaderEpoch { LeaderEpoch(field(12)) }
    public var magic: Int8 { field(16) }
    /// The CRC-32C stored in the batch.
    public var crc: UInt32 { field(17) }
    public var attributes: RecordBatchAttributes { RecordBatchAttributes(rawValue: field(21)) }
    public var lastOffsetDelta: Int32 { field(23) }
    public var baseTimestamp: RecordTimestamp { RecordTimestamp(field(27)) }
    public var maxTimestamp: RecordTimestamp { RecordTimestamp(field(35)) }
    public var producerID: ProducerID { ProducerID(field(43)) }
    public var producerEpoch: ProducerEpoch { ProducerEpoch(field(51)) }
    public var baseSequence: ProducerSequence { ProducerSequence(field(53)) }
    public var recordsCount: Int32 { field(57) }

    /// The whole batch's size in bytes.
    public var totalBytes: Int { bytes.readableBytes }
    /// The offset of the batch's last record.
    public var lastOffset: Offset { baseOffset.advanced(by: Int64(lastOffsetDelta)) }
    /// The offset the next batch in the log starts at.
    public var nextOffset: Offset { lastOffset.advanced(by: 1) }
    /// The sequence number of the batch's last record (wrapping at Int32.max as Kafka does).
    public var lastSequence: ProducerSequence {
        baseSequence == .none ? .none : ProducerSequence(baseSequence.rawValue &+ lastOffsetDelta)
    }

    /// The record section as stored (compressed if the codec says so), without copying.
    public var recordSection: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + Self.headerBytes, length: totalBytes - Self.headerBytes)!
    }

    /// The CRC-32C of bytes [21, end), computed now.
    public func computeCRC(implementation: CRC32C.Implementation = .preferred) -> UInt32 {
        var crc = CRC32C(implementation: implementation)
        crc.update(bytes, at: bytes.readerIndex + Self.crcCoverageStart, length: totalBytes - Self.crcCoverageStart)
        return crc.value
    }

    public var isCRCValid: Bool { computeCRC() == crc }
}

extension RecordBatch {
    /// Sets `baseOffset` and `partitionLeaderEpoch`, as the leader does on append. Neither is
    /// covered by the CRC, so the stored CRC stays valid and nothing is recomputed.
    ///
    /// `bytes` is copy-on-write: when the batch is a slice of a larger buffer that is still
    /// referenced (a Produce request frame), this copies the batch once; patch a batch in a
    /// buffer you own with `assign(baseOffset:partitionLeaderEpoch:in:at:)` instead.
    public mutating func assign(baseOffset: Offset, partitionLeaderEpoch: LeaderEpoch) {
        Self.assign(baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch,
                    in: &bytes, at: bytes.readerIndex)
    }

    /// Sets `baseOffset` and `partitionLeaderEpoch` of the batch that starts at absolute index
    /// `index` of `buffer` (for example inside a log segment's write buffer), in place.
    public static func assign(baseOffset: Offset, partitionLeaderEpoch: LeaderEpoch,
                              in buffer: inout ByteBuffer, at index: Int) {
        precondition(index >= 0 && index + headerBytes <= buffer.writerIndex, "no batch header at \(index)")
        buffer.setInteger(baseOffset.rawValue, at: index)
        buffer.setInteger(partitionLeaderEpoch.rawValue, at: index + 12)
    }
}
