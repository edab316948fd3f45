import NIOCore
import SluiceCore
import SluiceRecords

/// How one record reports its outcome: the `send` awaiting it, or the callback given to
/// `sendAndForget`. Records sent without either report nothing individually (``Producer/flush()``
/// reports the first failure among them).
enum DeliveryReport: Sendable {
    case continuation(CheckedContinuation<RecordMetadata, any Error>)
    case callback(@Sendable (Result<RecordMetadata, SluiceClientError>) -> Void)

    func complete(_ result: Result<RecordMetadata, SluiceClientError>) {
        switch self {
        case .continuation(let continuation): continuation.resume(with: result.mapError { $0 })
        case .callback(let callback): callback(result)
        }
    }
}

/// One partition's batch from its first record to its acknowledgement: open in the
/// accumulator (records appended to `builder`), then sealed, then built (sequence stamped,
/// compressed, CRC) and sent by the ``ProducerSender``, possibly several times.
struct ProducerBatch: Sendable {
    /// Unique per producer, increasing in creation order.
    let id: UInt64
    let partition: TopicPartition
    var builder: RecordBatchBuilder
    /// The records that report individually: their index in the batch, timestamp and report.
    var reports: [(index: Int32, timestamp: RecordTimestamp, report: DeliveryReport)] = []
    /// Records in the batch.
    var recordCount: Int { builder.count }
    /// Buffer memory the batch holds until it completes.
    var memoryBytes = 0
    let createdAt: ContinuousClock.Instant
    /// The wire form, once built; a retry resends exactly these bytes (same sequence).
    var built: RecordBatch?
    /// Sends so far.
    var attempts = 0
    /// Why the last attempt failed, for a delivery-timeout message.
    var lastError: SluiceClientError?

    init(id: UInt64, partition: TopicPartition, codec: CompressionCodec, createdAt: ContinuousClock.Instant) {
        self.id = id
        self.partition = partition
        self.builder = RecordBatchBuilder(codec: codec)
        self.createdAt = createdAt
    }

    /// The producer sequence of the first record (meaningful once built).
    var baseSequence: Int32 { built?.baseSequence.rawValue ?? -1 }

    /// Reports success to every record that asked: offsets count up from `baseOffset`.
    func succeed(baseOffset: Offset, logAppendTime: Int64) {
        for (index, timestamp, report) in reports {
            let offset = baseOffset.rawValue >= 0 ? baseOffset.advanced(by: Int64(index)) : Offset.unknown
            let time = logAppendTime >= 0 ? RecordTimestamp(logAppendTime) : timestamp
            report.complete(.success(RecordMetadata(topic: partition.topic, partition: partition.partition,
                                                    offset: offset, timestamp: time)))
        }
    }

    /// Reports `error` to every record that asked.
    func fail(_ error: SluiceClientError) {
        for (_, _, report) in reports { report.complete(.failure(error)) }
    }

    /// Whether some record has no report of its own (its failure must reach `flush`).
    var hasUnreportedRecords: Bool { reports.count < recordCount }
}

extension RecordBatch {
    /// This batch with another producer id, epoch and base sequence, CRC recomputed: how the
    /// producer moves unacknowledged batches to a new producer id without rebuilding them.
    func restamped(producerID: ProducerID, epoch: ProducerEpoch, baseSequence: Int32) -> RecordBatch {
        var bytes = self.bytes
        let start = bytes.readerIndex
        bytes.setInteger(producerID.rawValue, at: start + 43)
        bytes.setInteger(epoch.rawValue, at: start + 51)
        bytes.setInteger(baseSequence, at: start + 53)
        bytes.setInteger(RecordBatch(unchecked: bytes).computeCRC(), at: start + 17)
        return RecordBatch(unchecked: bytes)
    }
}
