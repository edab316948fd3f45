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
        let length = Int(try varint("length"))
        guard length >= 0, length <= section.readableBytes else {
            throw .lengthOutOfBounds(declaredBytes: length, remainingBytes: section.readableBytes)
        }
        // Parse within exactly `length` bytes so a field cannot run into the next record.
        var body = section.readSlice(length: length)!
        swap(&body, &section)
        defer { swap(&body, &section) }

        guard section.readInteger(as: Int8.self) != nil else {
            throw .lengthMismatch(declaredBytes: length, usedBytes: length + 1)
        }
        let timestampDelta = try varlong("timestampDelta")
        let offsetDelta = try varint("offsetDelta")
        guard offsetDelta >= 0, offsetDelta <= lastOffsetDelta else { throw .offsetDeltaOutOfRange(offsetDelta) }
        let key = try bytes("key")
        let value = try bytes("value")
        let headerCount = try varint("headerCount")
        // Each header takes at least two bytes, so a count beyond that cannot be honest; checking
        // first keeps a forged count from reserving memory.
        guard headerCount >= 0, Int(headerCount) <= section.readableBytes / 2 else {
            throw .invalidHeaderCount(headerCount)
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
            guard let keyBytes = try bytes("headerKey") else {
                throw .fieldOutOfBounds(field: "headerKey", declaredBytes: -1, remainingBytes: section.readableBytes)
            }
            let headerKey = String(decoding: keyBytes.readableBytesView, as: UTF8.self)
            headers.append(RecordHeader(key: headerKey, value: try bytes("headerValue")))
        }
        guard section.readableBytes == 0 else {
            throw .lengthMismatch(declaredBytes: length, usedBytes: length - section.readableBytes)
        }
        let timestamp = logAppendTime ?? RecordTimestamp(baseTimestamp.rawValue &+ timestampDelta)
        return Record(offset: baseOffset.advanced(by: Int64(offsetDelta)), timestamp: timestamp,
                      key: key, value: value, headers: headers)
    }

    private mutating func varint(_ field: String) throws(RecordProblem) -> Int32 {
        do { return try section.readVarInt() } catch { throw .badVarint(field: field, error) }
    }

    private mutating func varlong(_ field: String) throws(RecordProblem) -> Int64 {
        do { return try section.readVarLong() } catch { throw .badVarint(field: field, error) }
    }

    /// A length-prefixed byte field; -1 is null.
    private mutating func bytes(_ field: String) throws(RecordProblem) -> ByteBuffer? {
        let length = Int(try varint(field))
        if length == -1 { return nil }
        guard length >= 0, length <= section.readableBytes else {
            throw .fieldOutOfBounds(field: field, declaredBytes: length, remainingBytes: section.readableBytes)
        }
        return section.readSlice(length: length)!
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
