import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage

/// A batch as a test remembers it: enough to recognise it in the log again.
struct ModelBatch: Equatable {
    var baseOffset: Offset
    var recordCount: Int
    var maxTimestamp: Int64
    /// The first record's value, unique per batch.
    var tag: String
    var lastOffset: Offset { baseOffset.advanced(by: Int64(recordCount - 1)) }
    var nextOffset: Offset { baseOffset.advanced(by: Int64(recordCount)) }

    /// The first record at or after `from` with a timestamp ≥ `t`: `makeBatch` gives record i
    /// the batch's first timestamp + i, so the batch's records are consecutive milliseconds.
    func firstRecord(atLeast t: Int64, from: Offset) -> (offset: Offset, timestamp: Int64)? {
        let firstTimestamp = maxTimestamp - Int64(recordCount - 1)
        let index = max(t - firstTimestamp, from.rawValue - baseOffset.rawValue, 0)
        guard index < Int64(recordCount) else { return nil }
        return (baseOffset.advanced(by: index), firstTimestamp + index)
    }
}

/// The record a timestamp lookup must find in `batches` (in log order) from offset `from`.
func expectedTimestampLookup(_ batches: [ModelBatch], atLeast t: Int64, from: Offset) -> (offset: Offset, timestamp: Int64)? {
    for batch in batches {
        if let found = batch.firstRecord(atLeast: t, from: from) { return found }
    }
    return nil
}

/// Builds a producer-style batch (offsets unassigned) of `count` records of `valueBytes`.
func makeBatch(tag: String, count: Int, valueBytes: Int, timestamp: Int64) -> ByteBuffer {
    var builder = RecordBatchBuilder()
    for i in 0..<count {
        let value = i == 0 ? Array(tag.utf8) + [UInt8](repeating: 7, count: valueBytes) : [UInt8](repeating: UInt8(i & 0xff), count: valueBytes)
        builder.append(key: Array("k\(i)".utf8), value: value, timestamp: RecordTimestamp(timestamp + Int64(i)))
    }
    return try! builder.build().bytes
}

/// Every batch in the log from `offset`, read through `read` in pieces of `maxBytes`.
func readAll(_ log: PartitionLog, from offset: Offset, maxBytes: Int = 1 << 20) throws -> [ModelBatch] {
    var result: [ModelBatch] = []
    var next = max(offset, log.logStartOffset)
    while next < log.logEndOffset {
        let bytes = try log.read(from: next, maxBytes: maxBytes)
        var splitter = RecordBatchSplitter(bytes, trailingBytes: .rejectPartialTrailingBatch)
        var progressed = false
        while let batch = try splitter.next() {
            var records = try batch.records()
            let first = try records.next()!
            let value = first.value.map { String(decoding: $0.readableBytesView.prefix { $0 != 7 }, as: UTF8.self) } ?? ""
            result.append(ModelBatch(baseOffset: batch.baseOffset, recordCount: Int(batch.recordsCount),
                                     maxTimestamp: batch.maxTimestamp.rawValue, tag: value))
            next = batch.nextOffset
            progressed = true
        }
        if !progressed { break }
    }
    return result
}
