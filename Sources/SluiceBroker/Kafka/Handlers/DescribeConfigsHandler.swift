import SluiceCore
import SluiceMetadata
import SluiceWire

/// DescribeConfigs (key 32): a topic's effective settings (its overrides over the defaults),
/// and a broker's main settings.
struct DescribeConfigsHandler: KafkaAPIHandler {
    typealias Request = DescribeConfigsRequest
    static let versions: ClosedRange<Int16> = 0...3
    let services: BrokerServices

    static let topicResource: Int8 = 2
    static let brokerResource: Int8 = 4
    /// Kafka's ConfigSource values.
    static let sourceTopicOverride: Int8 = 1
    static let sourceStaticBroker: Int8 = 4
    static let sourceDefault: Int8 = 5

    func handle(_ request: DescribeConfigsRequest, _ context: RequestContext) async -> DescribeConfigsResponse? {
        let image = services.metadata.current.image
        let defaults = services.topicDefaults
        let results = request.resources.map { resource -> DescribeConfigsResponse.DescribeConfigsResult in
            var result = DescribeConfigsResponse.DescribeConfigsResult(
                errorCode: 0, resourceType: resource.resourceType, resourceName: resource.resourceName)
            var entries: [(String, String?, Bool)] = []
            switch resource.resourceType {
            case Self.topicResource:
                guard let name = TopicName(rawValue: resource.resourceName), let topic = image.topic(named: name) else {
                    result.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
                    return result
                }
                for key in TopicConfigKey.allCases {
                    let override = topic.configs[key.rawValue]
                    entries.append((key.rawValue, override ?? image.effectiveConfig(key, topic: name, defaults: defaults), override == nil))
                }
            case Self.brokerResource:
                guard Int32(resource.resourceName) == services.nodeID.rawValue || resource.resourceName.isEmpty else {
                    result.errorCode = KafkaErrorCode.invalidRequest.rawValue
                    result.errorMessage = "this is node \(services.nodeID)"
                    return result
                }
                let c = services.config
                entries = [("node.id", "\(c.node.id)", false), ("auto.create.topics.enable", "\(c.topics.autoCreate)", false),
                           ("num.partitions", "\(c.topics.defaultPartitions)", false),
                           ("default.replication.factor", "\(c.topics.defaultReplicationFactor)", false),
                           ("min.insync.replicas", "\(c.topics.minInsyncReplicas)", false),
                           ("log.segment.bytes", "\(c.log.segmentBytes)", false)]
            default:
                result.errorCode = KafkaErrorCode.invalidRequest.rawValue
                result.errorMessage = "resource type \(resource.resourceType) is not supported"
                return result
            }
            let wanted = resource.configurationKeys.map(Set.init)
            // Broker settings come from sluice.toml and AlterConfigs refuses them: read-only,
            // from the static config, as Kafka shows a broker's non-dynamic settings.
            let isBroker = resource.resourceType == Self.brokerResource
            result.configs = entries.filter { wanted?.contains($0.0) ?? true }.map { name, value, isDefault in
                .init(name: name, value: value, readOnly: isBroker, isDefault: isDefault,
                      configSource: isBroker ? Self.sourceStaticBroker : isDefault ? Self.sourceDefault : Self.sourceTopicOverride,
                      isSensitive: false)
            }
            return result
        }
        return DescribeConfigsResponse(results: results)
    }
}
