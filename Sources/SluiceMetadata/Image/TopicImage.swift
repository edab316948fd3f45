import SluiceCore
import SluiceWire

/// A topic: its id, its partitions (array position = partition index) and its config overrides.
public struct TopicImage: Hashable, Sendable {
    public var name: TopicName
    public var topicID: KafkaUUID
    /// Dense: partition `p` is `partitions[p]`; partitions are only ever appended.
    public var partitions: [PartitionState]
    /// Keys set on this topic; a key absent here takes the cluster default.
    public var configs: [String: String]

    public init(name: TopicName, topicID: KafkaUUID, partitions: [PartitionState] = [], configs: [String: String] = [:]) {
        self.name = name
        self.topicID = topicID
        self.partitions = partitions
        self.configs = configs
    }

    public func partition(_ index: PartitionIndex) -> PartitionState? {
        let i = Int(index.rawValue)
        return partitions.indices.contains(i) ? partitions[i] : nil
    }
}
