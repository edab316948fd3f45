import NIOCore
import SluiceCore

/// Reads the records of one batch in order, decompressing the record section first when the
/// batch is compressed. Every length is checked against the bytes that remain, so a malformed
/// record throws `RecordBatchError.malformedRecord` instead of reading out of bounds.
///
/// ```
/// var records = try batch.records()
/// while let record = try records.next() { … }
/// ```
public struct RecordIterator: Sendable {
    private var section: ByteBuffer
    private let baseOffset: Offset
    private let baseTimestamp: RecordTimestamp
    /// For LogAppendTime batches every record's timestamp is the batch's maxTimestamp.
    private let logAppendTime: RecordTimestamp?
    private let lastOffsetDelta: Int32
    private let recordsCount: Int
    private var index = 0

    init(section: ByteBuffer, batch: RecordBatch) {
        self.section = section
        self.baseOffset = batch.baseOffset
        self.baseTimestamp = batch.baseTimestamp
        self.logAppendTime = batch.attributes.timestampType == .logAppendTime ? batch.maxTimestamp : nil
        self.lastOffsetDelta = batch.lastOffsetDelta
        self.recordsCount = Int(batch.recordsCount)
    }

    /// How many records the batch declares; `next()` returns exactly this many or throws.
    public var count: Int { recordsCount }

    public mutating func next() throws(RecordBatchError) -> Record? {
        guard index < recordsCount else {
            guard section.readableBytes == 0 else { throw .trailingRecordBytes(count: section.readableBytes) }
            return nil
        }
        index += 1
        do {
            return try readRecord()
        } catch {
            throw .malformedRecord(recordIndex: index - 1, problem: error)
        }
    }

    private mutating func readRecord() throws(RecordProblem) -> Record {
        let lastOffsetDelta = self.lastOffsetDelta
        let parsed = section.withUnsafeReadableBytes { bytes -> Result<RecordLayout, RecordProblem> in
            do throws(RecordProblem) {
                return .success(try RecordLayout.parse(bytes, lastOffsetDelta: lastOffsetDelta))
            } catch {
                return .failure(error)
            }
        }
        let layout = try parsed.get()
        let start = section.readerIndex
        func slice(_ range: Range<Int>?) -> ByteBuffer? {
            range.map { section.getSlice(at: start + $0.lowerBound, length: $0.count)! }
        }
        let headers = layout.headers.map { RecordHeader(key: $0.key, value: slice($0.value)) }
        let record = Record(
            offset: baseOffset.advanced(by: Int64(layout.offsetDelta)),
            timestamp: logAppendTime ?? RecordTimestamp(baseTimestamp.rawValue &+ layout.timestampDelta),
            key: slice(layout.key), value: slice(layout.value), headers: headers)
        section.moveReaderIndex(forwardBy: layout.totalBytes)
        return record
    }
}

extension RecordBatch {
    /// The default bound on a decompressed record section: eight times the largest batch.
    /// A legitimate batch compresses text maybe 10×, but one over this bound is refused rather
    /// than allowed to take unbounded memory (a decompression bomb).
    public static let decompressedBytesMaxDefault = 8 * Limits.batchBytesMax

    /// An iterator over the batch's records. Compressed batches are decompressed here, in one
    /// go, into at most `decompressedBytesMax` bytes.
    public func records(decompressedBytesMax: Int = decompressedBytesMaxDefault)
        throws(RecordBatchError) -> RecordIterator
    {
        RecordIterator(section: try decompressedRecordSection(bytesMax: decompressedBytesMax), batch: self)
    }

    /// All records of the batch, decoded.
    public func decodeRecords(decompressedBytesMax: Int = decompressedBytesMaxDefault)
        throws(RecordBatchError) -> [Record]
    {
        var iterator = try records(decompressedBytesMax: decompressedBytesMax)
        var result: [Record] = []
        result.reserveCapacity(min(iterator.count, totalBytes / 7))
        while let record = try iterator.next() { result.append(record) }
        return result
    }

    /// The record section with compression removed (the stored slice itself for codec none).
    public func decompressedRecordSection(bytesMax: Int = decompressedBytesMaxDefault)
        throws(RecordBatchError) -> ByteBuffer
    {
        guard let codec = attributes.codec else { throw .unsupportedCompression(codecID: attributes.codecID) }
        do {
            return try codec.decompress(recordSection, bytesMax: bytesMax)
        } catch {
            if case .unsupported(let id) = error { throw .unsupportedCompression(codecID: id) }
            throw .decompressionFailed(error)
        }
    }
}
