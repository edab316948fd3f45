import Logging
import SluiceCore
import SluiceMetadata
import SluiceStorage
import SluiceWire

/// The replicas this node holds, kept in line with the metadata image: a partition that names
/// this node among its replicas is opened (recovering its log if needed), one that no longer
/// does is closed, and a deleted topic's logs are removed.
public actor PartitionManager {
    let nodeID: NodeID
    let logs: LogManager
    let logger: Logger
    let signal = AppendSignal()
    private var replicas: [TopicPartition: PartitionReplica] = [:]
    private var topicIDs: [TopicName: KafkaUUID] = [:]
    private let defaultLogConfig: LogConfig

    public init(nodeID: NodeID, logs: LogManager, defaultLogConfig: LogConfig, logger: Logger) {
        self.nodeID = nodeID
        self.logs = logs
        self.defaultLogConfig = defaultLogConfig
        self.logger = logger
    }

    func replica(_ partition: TopicPartition) -> PartitionReplica? { replicas[partition] }

    /// Brings the local replicas in line with `image`.
    public func reconcile(with image: MetadataImage) async {
        var wanted: [TopicPartition: PartitionState] = [:]
        for topic in image.topicsByID.values {
            for (i, state) in topic.partitions.enumerated() where state.replicas.contains(nodeID) {
                wanted[TopicPartition(topic.name, PartitionIndex(Int32(i)))] = state
            }
        }
        // Topics deleted, or re-created under the same name (a new topic id): remove the files.
        for (name, id) in topicIDs where image.topic(named: name)?.topicID != id {
            for partition in replicas.keys where partition.topic == name {
                replicas.removeValue(forKey: partition)
                do { try await logs.delete(partition) } catch {
                    logger.error("deleting \(partition) failed: \(error)")
                }
            }
            topicIDs.removeValue(forKey: name)
        }
        for (partition, state) in wanted {
            if let replica = replicas[partition] {
                if await replica.state != state { await replica.update(state) }
                continue
            }
            do throws(LogError) {
                let topic = image.topic(named: partition.topic)!
                await logs.setConfig(Self.logConfig(topic: topic, defaults: defaultLogConfig), for: partition.topic)
                let log = try await logs.open(partition)
                let replica = PartitionReplica(partition: partition, nodeID: nodeID, log: log, state: state, signal: signal)
                replicas[partition] = replica
                topicIDs[partition.topic] = topic.topicID
                await replica.update(state)
                let end = await log.logEndOffset
                logger.info("opened replica \(partition): leader \(state.leader) epoch \(state.leaderEpoch), log end \(end)")
            } catch {
                logger.error("opening \(partition) failed: \(error)")
            }
        }
        for partition in replicas.keys where wanted[partition] == nil {
            replicas.removeValue(forKey: partition)
        }
    }

    /// The log settings of `topic`: the node's defaults overridden by the topic's configs.
    static func logConfig(topic: TopicImage, defaults: LogConfig) -> LogConfig {
        var config = defaults
        if let v = topic.configs[TopicConfigKey.segmentBytes.rawValue].flatMap(Int.init) { config.segmentBytes = v }
        if let v = topic.configs[TopicConfigKey.segmentMs.rawValue].flatMap(Int64.init) { config.segmentMilliseconds = v }
        if let v = topic.configs[TopicConfigKey.retentionBytes.rawValue].flatMap(Int64.init) { config.retentionBytes = v < 0 ? nil : v }
        if let v = topic.configs[TopicConfigKey.retentionMs.rawValue].flatMap(Int64.init) { config.retentionMilliseconds = v < 0 ? nil : v }
        switch topic.configs[TopicConfigKey.flushPolicy.rawValue] {
        case "always": config.flush = .always
        case "none": config.flush = .none
        default: break
        }
        return config
    }
}
