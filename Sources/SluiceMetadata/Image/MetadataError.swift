import SluiceCore
import SluiceWire

/// Why a committed record could not be applied to the image.
///
/// The metadata log is the truth and every node applies the same records in the same order, so
/// an invalid record is handled the same way everywhere: it is skipped (the image is exactly as
/// if the record were absent) and reported to the caller, which logs it. Only the controller
/// writes records, from its own up-to-date image, so a skipped record means a controller bug
/// or a race it failed to fence; the rest of the log still applies.
public enum MetadataError: Error, Hashable, Sendable, CustomStringConvertible {
    case undecodable(MetadataCodecError)
    case unknownBroker(NodeID)
    case staleIncarnation(NodeID, registered: KafkaUUID, record: KafkaUUID)
    case topicNameExists(TopicName)
    case topicIDExists(KafkaUUID)
    case invalidTopicID
    case unknownTopicID(KafkaUUID)
    case unknownTopicName(TopicName)
    /// Partitions are dense: a new partition must take the next free index.
    case partitionIndexNotNext(KafkaUUID, PartitionIndex, expected: PartitionIndex)
    case unknownPartition(KafkaUUID, PartitionIndex)
    case stalePartitionEpoch(KafkaUUID, PartitionIndex, current: PartitionEpoch, record: PartitionEpoch)
    case invalidPartitionState(KafkaUUID, PartitionIndex, String)
    case producerIDBlockNotNext(expected: ProducerID, record: ProducerID)
    case invalidProducerIDBlock(String)
    case unknownGroup(String)
    case invalidGroupState(String, String)

    public var description: String {
        switch self {
        case .undecodable(let error): "undecodable entry: \(error)"
        case .unknownBroker(let id): "broker \(id) is not registered"
        case .staleIncarnation(let id, let registered, let record):
            "broker \(id) is registered as incarnation \(registered), the record names \(record)"
        case .topicNameExists(let name): "topic \(name) already exists"
        case .topicIDExists(let id): "topic id \(id) already exists"
        case .invalidTopicID: "the zero topic id is reserved"
        case .unknownTopicID(let id): "no topic has id \(id)"
        case .unknownTopicName(let name): "no topic is named \(name)"
        case .partitionIndexNotNext(let id, let index, let expected):
            "topic \(id): new partition \(index) is not the next index \(expected)"
        case .unknownPartition(let id, let index): "topic \(id) has no partition \(index)"
        case .stalePartitionEpoch(let id, let index, let current, let record):
            "topic \(id) partition \(index): change to epoch \(record) does not follow current epoch \(current)"
        case .invalidPartitionState(let id, let index, let why): "topic \(id) partition \(index): \(why)"
        case .producerIDBlockNotNext(let expected, let record):
            "producer id block starts at \(record), the next free id is \(expected)"
        case .invalidProducerIDBlock(let why): "invalid producer id block: \(why)"
        case .unknownGroup(let id): "no group has id '\(id)'"
        case .invalidGroupState(let id, let why): "group '\(id)': \(why)"
        }
    }
}
