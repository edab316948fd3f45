import NIOCore
import SluiceCore
import SluiceRecords

/// Turns one partition's `records` bytes from a Fetch response into consumer records.
///
/// A Fetch answer holds whole batches, possibly followed by a cut-off one (the node stops at
/// the byte limit), which is ignored: the next fetch starts at it. A batch may begin before the
/// requested offset (the node returns the batch that contains it, and a compressed batch is
/// indivisible), so records below `fetchOffset` are skipped. Control batches (transaction
/// markers) carry no user records; their offsets are skipped too.
enum FetchedBatchDecoder {
    struct Decoded {
        var records: [ConsumerRecord]
        /// Where the next fetch starts: after the last whole batch, or `fetchOffset` if none.
        var nextFetchOffset: Offset
    }

    static func decode(
        _ bytes: ByteBuffer?, topic: TopicName, partition: PartitionIndex, fetchOffset: Offset
    ) throws(RecordBatchError) -> Decoded {
        var result = Decoded(records: [], nextFetchOffset: fetchOffset)
        guard let bytes, bytes.readableBytes > 0 else { return result }
        var splitter = RecordBatchSplitter(bytes, trailingBytes: .allowPartialTrailingBatch)
        while let batch = try splitter.next() {
            guard batch.nextOffset > result.nextFetchOffset else { continue }
            if !batch.attributes.isControl {
                var iterator = try batch.records()
                while let record = try iterator.next() {
                    guard record.offset >= result.nextFetchOffset else { continue }
                    result.records.append(ConsumerRecord(
                        topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                        key: record.key, value: record.value, headers: record.headers))
                }
            }
            result.nextFetchOffset = batch.nextOffset
        }
        return result
    }
}
