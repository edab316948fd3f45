import SluiceCore
import SluiceRecords

/// How a ``Producer`` batches, compresses, acknowledges and retries.
public struct ProducerOptions: Sendable {
    /// How many replicas must have a batch before the node answers.
    public enum Acks: Int16, Sendable {
        /// The node does not answer; offsets come back as `Offset.unknown` and errors are lost.
        case none = 0
        /// The leader wrote it.
        case leader = 1
        /// Every in-sync replica has it (the default, and required for idempotence).
        case all = -1
    }

    /// The batch compression codecs (`SluiceRecords.CompressionCodec`), named here so that a
    /// program built on the client library alone (the `sluice` CLI) can choose one.
    public typealias Compression = CompressionCodec

    /// The default partitioning of records that name none: `.recordKey(.murmur2)`, Kafka's rule.
    public var partitioning: Partitioning = .recordKey(.murmur2)
    public var acks: Acks = .all
    /// Kafka's idempotent producer (InitProducerId, a sequence number per partition): a retried
    /// batch is written once, and retries cannot reorder a partition. On by default as in
    /// Kafka; it needs `acks = .all` and is turned off with any other value.
    public var idempotent = true
    /// Compression of each batch: `.none`, `.lz4` or `.gzip`.
    public var compression: CompressionCodec = .none
    /// How long a partition's batch may wait for more records before it is sent
    /// (`linger.ms`). Larger batches mean fewer requests and better compression.
    public var linger: Duration = .milliseconds(5)
    /// A batch is sent as soon as its records reach this many (uncompressed) bytes.
    public var batchBytes = 512 * 1024
    /// The largest single record (key, value and headers); larger ones fail at once with
    /// ``SluiceClientError/recordTooLarge(bytes:bytesMax:)`` (Kafka's `max.request.size`).
    public var recordBytesMax = 1024 * 1024
    /// Records accepted but not yet acknowledged may take this many bytes; a `send` beyond it
    /// waits until acknowledgements free space (back-pressure, `buffer.memory`).
    public var bufferMemoryBytes = 64 * 1024 * 1024
    /// Longest a record may take from `send` to its acknowledgement, retries included
    /// (`delivery.timeout.ms`); then its send fails with
    /// ``SluiceClientError/deliveryTimedOut(_:timeout:lastError:)``.
    public var deliveryTimeout: Duration = .seconds(120)
    /// Batches of one partition sent before the first is acknowledged (at most 5 with
    /// idempotence, the most a node remembers per producer).
    public var inFlightBatchesPerPartitionMax = 5
    /// Longest a Produce request may wait on the node for replicas (`timeout.ms`).
    public var ackTimeout: Duration = .seconds(30)

    public init(partitioning: Partitioning = .recordKey(.murmur2), acks: Acks = .all,
                compression: CompressionCodec = .none) {
        self.partitioning = partitioning
        self.acks = acks
        self.compression = compression
    }

    /// Whether the producer runs idempotently with these options.
    var isIdempotent: Bool { idempotent && acks == .all }

    /// Every problem with the options, one sentence each.
    func problems() -> [String] {
        var problems: [String] = []
        if ![.none, .lz4, .gzip].contains(compression) {
            problems.append("compression \(compression) is not supported by the producer; use none, lz4 or gzip")
        }
        if batchBytes < 1 { problems.append("batchBytes must be positive") }
        if recordBytesMax < 1 { problems.append("recordBytesMax must be positive") }
        if recordBytesMax + RecordBatch.headerBytes > Limits.batchBytesMax {
            problems.append("recordBytesMax must leave room for a batch header within \(Limits.batchBytesMax) bytes")
        }
        if bufferMemoryBytes < recordBytesMax { problems.append("bufferMemoryBytes must be at least recordBytesMax") }
        if linger < .zero { problems.append("linger must not be negative") }
        if deliveryTimeout <= .zero { problems.append("deliveryTimeout must be positive") }
        if !(1...5).contains(inFlightBatchesPerPartitionMax) && isIdempotent {
            problems.append("inFlightBatchesPerPartitionMax must be 1…5 with idempotence")
        }
        if inFlightBatchesPerPartitionMax < 1 { problems.append("inFlightBatchesPerPartitionMax must be at least 1") }
        return problems
    }
}
