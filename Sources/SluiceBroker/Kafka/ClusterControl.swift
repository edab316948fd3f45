import SluiceCore
import SluiceWire

/// What the Kafka handlers ask of the controller: topic administration. On the controller node
/// it runs the decision and waits for the records to commit; elsewhere it answers
/// NOT_CONTROLLER (clients send admin requests to the controller id from Metadata).
public protocol ClusterControl: Sendable {
    func createTopics(_ request: CreateTopicsRequest) async -> CreateTopicsResponse
    func deleteTopics(_ request: DeleteTopicsRequest) async -> DeleteTopicsResponse
    func createPartitions(_ request: CreatePartitionsRequest) async -> CreatePartitionsResponse
    /// AlterConfigs: topic overrides replaced through the metadata log; broker configs refused.
    func alterConfigs(_ request: AlterConfigsRequest) async -> AlterConfigsResponse
    /// IncrementalAlterConfigs: topic overrides changed key by key through the metadata log.
    func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest) async -> IncrementalAlterConfigsResponse
    /// ElectLeaders: preferred or (when asked) unclean leader elections through the metadata log.
    func electLeaders(_ request: ElectLeadersRequest) async -> ElectLeadersResponse
    /// Creates `topics` with the broker's defaults, for Metadata auto-creation; best effort.
    func autoCreate(_ topics: [TopicName]) async
    /// A producer id for InitProducerId.
    func allocateProducerID() async -> ProducerID?
}
