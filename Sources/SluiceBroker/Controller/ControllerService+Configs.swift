import SluiceCore
import SluiceMetadata
import SluiceWire

/// A config resource of AlterConfigs or IncrementalAlterConfigs, by Kafka's
/// `ConfigResource.Type` id.
enum ConfigResourceType: Int8 {
    case topic = 2
    case broker = 4
}

extension ControllerService {
    /// AlterConfigs (key 33): each resource's configs replace all its overrides.
    public func alterConfigs(_ request: AlterConfigsRequest) async -> AlterConfigsResponse {
        var responses: [AlterConfigsResponse.AlterConfigsResourceResponse] = []
        for resource in request.resources {
            let configs = resource.configs.map { (key: $0.name, value: $0.value) }
            let result = await decideConfig(resource.resourceType, resource.resourceName, keys: configs.map(\.key)) {
                $0.replaceTopicConfigs(resource.resourceName, configs, validateOnly: request.validateOnly)
            }
            responses.append(.init(errorCode: result.error.rawValue, errorMessage: result.message,
                                   resourceType: resource.resourceType, resourceName: resource.resourceName))
        }
        return AlterConfigsResponse(responses: responses)
    }

    /// IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT per key.
    public func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest) async -> IncrementalAlterConfigsResponse {
        var responses: [IncrementalAlterConfigsResponse.AlterConfigsResourceResponse] = []
        for resource in request.resources {
            let result: ConfigResourceResult
            if let bad = resource.configs.first(where: { ConfigOperation(wireID: $0.configOperation, value: $0.value) == nil }) {
                result = ConfigResourceResult(error: .invalidRequest, message: "unknown config operation \(bad.configOperation) for \(bad.name)")
            } else {
                let operations = resource.configs.map { (key: $0.name, operation: ConfigOperation(wireID: $0.configOperation, value: $0.value)!) }
                result = await decideConfig(resource.resourceType, resource.resourceName, keys: operations.map(\.key)) {
                    $0.incrementalAlterTopicConfigs(resource.resourceName, operations, validateOnly: request.validateOnly)
                }
            }
            responses.append(.init(errorCode: result.error.rawValue, errorMessage: result.message,
                                   resourceType: resource.resourceType, resourceName: resource.resourceName))
        }
        return IncrementalAlterConfigsResponse(responses: responses)
    }

    /// Routes one resource by type: topics to `topicDecision`, brokers to the read-only check.
    private func decideConfig(
        _ type: Int8, _ name: String, keys: [String],
        topicDecision: (inout Controller) -> ControllerOutput<ConfigResourceResult>
    ) async -> ConfigResourceResult {
        let decided: ConfigResourceResult?
        switch ConfigResourceType(rawValue: type) {
        case .topic: decided = await decide(topicDecision)
        case .broker: decided = await decide { $0.alterBrokerConfigs(name, keys: keys) }
        case nil: return ConfigResourceResult(error: .invalidRequest, message: "config resource type \(type) is not supported")
        }
        return decided ?? ConfigResourceResult(error: .notController, message: "node \(nodeID) is not the controller")
    }
}
