import SluiceCore
import SluiceMetadata
import SluiceWire

/// Metadata (key 3): brokers, the controller, and each topic's partitions with leader, epoch,
/// replicas and ISR. Unknown topics are created when auto-creation is on and the request
/// allows it (v1-3 always ask; v4+ say so in `allowAutoTopicCreation`).
struct MetadataHandler: KafkaAPIHandler {
    typealias Request = MetadataRequest
    static let versions: ClosedRange<Int16> = 0...8
    let services: BrokerServices

    /// Cluster id reported to clients (v2+).
    static let clusterID = "sluice"

    func handle(_ request: MetadataRequest, _ context: RequestContext) async -> MetadataResponse? {
        var snapshot = services.metadata.current
        let requested: [String]? = (request.topics?.isEmpty == true && context.version == 0) ? nil : request.topics?.map(\.name)
        if let requested {
            let missing = requested.compactMap(TopicName.init(rawValue:)).filter { snapshot.image.topic(named: $0) == nil }
            let mayCreate = context.version < 4 || request.allowAutoTopicCreation
            if !missing.isEmpty && mayCreate && services.config.topics.autoCreate {
                await services.cluster.autoCreate(missing)
                snapshot = services.metadata.current
            }
        }
        let image = snapshot.image
        let brokers = image.brokers.values.filter { !$0.isFenced }.sorted { $0.nodeID < $1.nodeID }.map {
            MetadataResponse.MetadataResponseBroker(nodeID: $0.nodeID, host: $0.clientEndpoint.host, port: Int32($0.clientEndpoint.port))
        }
        let names = requested ?? image.topicIDsByName.keys.map(\.rawValue).sorted()
        let topics = names.map { name -> MetadataResponse.MetadataResponseTopic in
            guard let topicName = TopicName(rawValue: name) else {
                return .init(errorCode: KafkaErrorCode.invalidTopicException.rawValue, name: name)
            }
            guard let topic = image.topic(named: topicName) else {
                let creating = services.config.topics.autoCreate && (context.version < 4 || request.allowAutoTopicCreation)
                return .init(errorCode: (creating ? KafkaErrorCode.leaderNotAvailable : .unknownTopicOrPartition).rawValue, name: name)
            }
            let partitions = topic.partitions.enumerated().map { i, p in
                Self.answer(for: p, index: PartitionIndex(Int32(i)), isUnfenced: image.isUnfenced)
            }
            return .init(errorCode: 0, name: name, partitions: partitions)
        }
        return MetadataResponse(brokers: brokers, clusterID: Self.clusterID,
                                controllerID: snapshot.controllerID ?? .none, topics: topics)
    }

    /// One partition as Metadata reports it: leader and epoch (LEADER_NOT_AVAILABLE without a
    /// leader), replicas, ISR, and as offline the replicas whose broker is fenced or not
    /// registered: they serve nothing, which is what `sluice topic describe` and Kafka's tools
    /// show as offline.
    static func answer(for partition: PartitionState, index: PartitionIndex, isUnfenced: (NodeID) -> Bool)
        -> MetadataResponse.MetadataResponseTopic.MetadataResponsePartition
    {
        .init(errorCode: (partition.hasLeader ? KafkaErrorCode.none : .leaderNotAvailable).rawValue,
              partitionIndex: index, leaderID: partition.leader, leaderEpoch: partition.leaderEpoch,
              replicaNodes: partition.replicas, isrNodes: partition.isr,
              offlineReplicas: partition.replicas.filter { !isUnfenced($0) })
    }
}
