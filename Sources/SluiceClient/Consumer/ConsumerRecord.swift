import NIOCore
import SluiceCore
import SluiceRecords

/// One record a consumer read, with where it came from.
public struct ConsumerRecord: Sendable {
    public var topic: TopicName
    public var partition: PartitionIndex
    public var offset: Offset
    /// Milliseconds since the Unix epoch (create time, or the node's append time if the topic
    /// uses LogAppendTime).
    public var timestamp: RecordTimestamp
    /// nil: a record without a key.
    public var key: ByteBuffer?
    /// nil: a tombstone.
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(topic: TopicName, partition: PartitionIndex, offset: Offset, timestamp: RecordTimestamp,
                key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The key's bytes (nil without a key).
    public var keyBytes: [UInt8]? { key.map { Array($0.readableBytesView) } }
    /// The value's bytes (nil for a tombstone).
    public var valueBytes: [UInt8]? { value.map { Array($0.readableBytesView) } }
    /// The value as UTF-8 text (nil for a tombstone; invalid UTF-8 is repaired).
    public var valueString: String? { value.map { String(decoding: $0.readableBytesView, as: UTF8.self) } }
}

/// Where a consumer starts (or moves to) in a partition.
public enum ConsumerPosition: Sendable, Hashable {
    /// The oldest record still in the log.
    case earliest
    /// The end of the log: the next record written.
    case latest
    /// This offset (the next record read has this offset, or the first one after it).
    case offset(Offset)
    /// The first record whose timestamp is at or after this many ms since the Unix epoch
    /// (the end of the log if there is none).
    case timestamp(Int64)
    /// The group's committed offset, else the consumer's ``ConsumerOptions/autoOffsetReset``.
    case committed
}
