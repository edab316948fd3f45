import SluiceCore
import SluiceWire

/// The cluster metadata as of one point of the Raft metadata log: an immutable value that
/// every node builds by applying committed records in order (`MetadataImage+Apply.swift`).
///
/// It is made of dictionaries and arrays, so a copy is O(1) and can be handed to any number of
/// readers (request handlers, the partition manager) while the applier builds the next one.
public struct MetadataImage: Hashable, Sendable {
    public internal(set) var brokers: [NodeID: BrokerRegistration]
    public internal(set) var topicsByID: [KafkaUUID: TopicImage]
    /// Invariant: `topicIDsByName[t.name] == t.topicID` for every `t` in `topicsByID`, and
    /// nothing else.
    public internal(set) var topicIDsByName: [TopicName: KafkaUUID]
    public internal(set) var brokerConfigs: [NodeID: [String: String]]
    /// Consumer groups by id: their durable state and committed offsets.
    public internal(set) var groups: [String: GroupImage]
    /// The first producer id no block has handed out yet.
    public internal(set) var nextProducerID: ProducerID
    /// The last Raft entry reflected in this image (`.zero` for the empty image).
    public internal(set) var lastAppliedIndex: RaftIndex
    public internal(set) var lastAppliedTerm: RaftTerm

    /// The image before the first entry of the log.
    public static let empty = MetadataImage()

    init() {
        brokers = [:]
        topicsByID = [:]
        topicIDsByName = [:]
        brokerConfigs = [:]
        groups = [:]
        nextProducerID = 0
        lastAppliedIndex = .zero
        lastAppliedTerm = .zero
    }

    public func topic(named name: TopicName) -> TopicImage? {
        topicIDsByName[name].flatMap { topicsByID[$0] }
    }

    public func partition(_ topicPartition: TopicPartition) -> PartitionState? {
        topic(named: topicPartition.topic)?.partition(topicPartition.partition)
    }

    /// Registered brokers that are not fenced, by ascending id.
    public var unfencedBrokerIDs: [NodeID] {
        brokers.values.filter { !$0.isFenced }.map(\.nodeID).sorted()
    }

    public func isUnfenced(_ id: NodeID) -> Bool {
        brokers[id].map { !$0.isFenced } ?? false
    }

    /// The topic's own value for `key`, else the default: what the partition log should use.
    /// `nil` only if the topic does not exist.
    public func effectiveConfig(
        _ key: TopicConfigKey, topic name: TopicName, defaults: TopicConfigDefaults = .standard
    ) -> String? {
        guard let topic = topic(named: name) else { return nil }
        return topic.configs[key.rawValue] ?? defaults[key]
    }

    /// Total partitions of all topics.
    public var partitionCount: Int {
        topicsByID.values.reduce(0) { $0 + $1.partitions.count }
    }
}
