import NIOCore
import SluiceCore
import SluiceRecords

/// One record to produce: where it goes, its key, value, headers and timestamp.
///
/// Keys and values are `ByteBuffer`s so that a producer sending the same bytes many times (a
/// benchmark, a fixed payload) shares one buffer instead of copying it per record; the byte
/// array and string initialisers are conveniences.
public struct ProducerRecord: Sendable {
    public var topic: TopicName
    /// nil: a record without a key (spread over partitions unless a partitioning says otherwise).
    public var key: ByteBuffer?
    /// nil: a tombstone (a null value).
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// Milliseconds since the Unix epoch; nil: the time the producer accepts the record.
    public var timestamp: RecordTimestamp?
    /// Overrides the producer's ``ProducerOptions/partitioning`` for this record.
    public var partitioning: Partitioning?

    public init(topic: TopicName, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
                timestamp: RecordTimestamp? = nil, partitioning: Partitioning? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.partitioning = partitioning
    }

    public init(topic: TopicName, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
                timestamp: RecordTimestamp? = nil, partitioning: Partitioning? = nil) {
        self.init(topic: topic, key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) },
                  headers: headers, timestamp: timestamp, partitioning: partitioning)
    }

    public init(topic: TopicName, key: String?, value: String, headers: [RecordHeader] = [],
                timestamp: RecordTimestamp? = nil, partitioning: Partitioning? = nil) {
        self.init(topic: topic, key: key.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: value),
                  headers: headers, timestamp: timestamp, partitioning: partitioning)
    }

    /// Bytes this record adds to a batch, uncompressed (a close upper bound: the varint
    /// lengths are counted at their largest), for the producer's memory and batch limits.
    var estimatedBytes: Int {
        var bytes = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for header in headers { bytes += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        return bytes
    }
}

/// Where an acknowledged record was written.
public struct RecordMetadata: Sendable, Hashable, CustomStringConvertible {
    public var topic: TopicName
    public var partition: PartitionIndex
    /// The record's offset in its partition; `Offset.unknown` with acks=0 (nothing comes back).
    public var offset: Offset
    /// The record's timestamp (the one it was sent with; the node's append time if the topic
    /// uses LogAppendTime).
    public var timestamp: RecordTimestamp

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}
