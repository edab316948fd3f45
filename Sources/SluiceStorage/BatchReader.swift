import NIOCore
import SluiceCore
import SluiceRecords

/// The fields of a stored batch's 61-byte header (see `RecordBatch` for the layout), read
/// without the body: offsets and sizes to navigate, and the producer fields a broker rebuilds
/// its idempotent-producer state from after a restart (`PartitionLog.forEachTailBatchHeader`).
public struct BatchHeader: Hashable, Sendable {
    public var baseOffset: Offset
    public var lastOffset: Offset
    public var maxTimestamp: Int64
    /// The whole batch's size in bytes.
    public var totalBytes: Int
    public var attributes: RecordBatchAttributes
    /// `.none` (-1) unless the batch came from an idempotent or transactional producer.
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    /// The first record's sequence number, `.none` (-1) if the batch has none.
    public var baseSequence: ProducerSequence

    /// `lastOffset - baseOffset`, as stored in the header.
    public var lastOffsetDelta: Int32 { Int32(truncatingIfNeeded: lastOffset.rawValue - baseOffset.rawValue) }
    /// The last record's sequence number (wrapping at Int32.max, as `RecordBatch.lastSequence`).
    public var lastSequence: ProducerSequence {
        baseSequence == .none ? .none : ProducerSequence(baseSequence.rawValue &+ lastOffsetDelta)
    }
}

/// Where a batch starts in a segment's `.log`: its byte position and the base offset it must
/// have. Readers start only at such a boundary (position 0, an index entry, or a batch found
/// by an earlier scan), so they always know which offset comes next.
struct BatchLocation: Equatable {
    var position: Int64
    var baseOffset: Offset
}

/// Walks the batches of a `.log` file with positional reads: a 61-byte header read to
/// navigate, a whole-batch read (validated, CRC included) to return data.
///
/// Batches in a segment are contiguous (the leader assigns offsets from the log end, a
/// follower appends only what continues its log), so each header's base offset must be the
/// one after the previous batch. The CRC does not cover the base offset, the length or the
/// leader epoch; checking the offsets catches a flipped bit in the first of those, and the
/// other two break the framing or the CRC of what follows.
struct BatchReader {
    let file: any StorageFile
    let segmentBaseOffset: Offset
    /// The byte position of the next batch.
    private(set) var position: Int64
    /// The base offset the next batch must have.
    private(set) var expectedOffset: Offset
    /// Bytes at and after `end` are not read.
    let end: Int64

    init(file: any StorageFile, segmentBaseOffset: Offset, start: BatchLocation, end: Int64) {
        self.file = file
        self.segmentBaseOffset = segmentBaseOffset
        self.position = start.position
        self.expectedOffset = start.baseOffset
        self.end = end
    }

    var location: BatchLocation { BatchLocation(position: position, baseOffset: expectedOffset) }

    private func corrupt(_ reason: String) -> LogError {
        .corruptLog(LogCorruption(path: file.path, segmentBaseOffset: segmentBaseOffset, position: position,
                                  offset: expectedOffset, reason: reason))
    }

    /// The next batch's header, nil at `end`. A header that is cut short, has the wrong magic,
    /// claims more bytes than remain, or does not continue the offsets is corruption (after a
    /// crash: a torn tail).
    mutating func nextHeader() throws(LogError) -> BatchHeader? {
        guard position < end else { return nil }
        guard end - position >= Int64(RecordBatch.headerBytes) else {
            throw corrupt("only \(end - position) bytes remain, less than a batch header")
        }
        let header: [UInt8]
        do throws(StorageError) {
            header = try file.read(count: RecordBatch.headerBytes, at: position)
        } catch {
            throw .storage(error)
        }
        guard header.count == RecordBatch.headerBytes else { throw corrupt("short read of a batch header") }
        let length = Int32(bigEndianBytes: header[8..<12])
        let total = RecordBatch.lengthPrefixBytes + Int(length)
        guard header[16] == UInt8(bitPattern: RecordBatch.magicV2) else { throw corrupt("magic is \(header[16]), not 2") }
        guard total >= RecordBatch.headerBytes, total <= Limits.batchBytesMax else {
            throw corrupt("batch length \(length) is impossible")
        }
        guard position + Int64(total) <= end else {
            throw corrupt("batch of \(total) bytes runs past the end of the log at \(end)")
        }
        let base = Offset(Int64(bigEndianBytes: header[0..<8]))
        guard base == expectedOffset else { throw corrupt("base offset is \(base), not \(expectedOffset)") }
        let lastDelta = Int32(bigEndianBytes: header[23..<27])
        return BatchHeader(baseOffset: base, lastOffset: base.advanced(by: Int64(lastDelta)),
                           maxTimestamp: Int64(bigEndianBytes: header[35..<43]), totalBytes: total,
                           attributes: RecordBatchAttributes(rawValue: Int16(bigEndianBytes: header[21..<23])),
                           producerID: ProducerID(Int64(bigEndianBytes: header[43..<51])),
                           producerEpoch: ProducerEpoch(Int16(bigEndianBytes: header[51..<53])),
                           baseSequence: ProducerSequence(Int32(bigEndianBytes: header[53..<57])))
    }

    /// Reads and validates the batch whose header was just returned by `nextHeader()`.
    func readBatch(_ header: BatchHeader) throws(LogError) -> RecordBatch {
        var buffer = ByteBufferAllocator().buffer(capacity: header.totalBytes)
        let position = self.position
        var failure: StorageError?
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: header.totalBytes) { raw in
            do throws(StorageError) {
                return try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw.prefix(header.totalBytes)), at: position)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw .storage(failure) }
        guard n == header.totalBytes else { throw corrupt("short read of a \(header.totalBytes)-byte batch") }
        do throws(RecordBatchError) {
            return try RecordBatch(validating: buffer)
        } catch {
            throw corrupt("\(error)")
        }
    }

    /// The next whole, valid batch, nil at `end`.
    mutating func next() throws(LogError) -> RecordBatch? {
        guard let header = try nextHeader() else { return nil }
        return try readBatch(header)
    }

    mutating func skip(_ header: BatchHeader) {
        position += Int64(header.totalBytes)
        expectedOffset = header.lastOffset.advanced(by: 1)
    }

    mutating func advance(past batch: RecordBatch) {
        position += Int64(batch.totalBytes)
        expectedOffset = batch.nextOffset
    }
}

extension FixedWidthInteger {
    /// Reads a big-endian integer from exactly `MemoryLayout<Self>.size` bytes.
    init(bigEndianBytes bytes: ArraySlice<UInt8>) {
        var value: Self = 0
        for byte in bytes { value = value << 8 | Self(byte) }
        self = value
    }
}
