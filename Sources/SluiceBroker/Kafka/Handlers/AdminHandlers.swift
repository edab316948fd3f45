import SluiceWire

/// CreateTopics (key 19), answered by the controller (`ClusterControl`).
struct CreateTopicsHandler: KafkaAPIHandler {
    typealias Request = CreateTopicsRequest
    static let versions: ClosedRange<Int16> = 0...4
    let services: BrokerServices
    func handle(_ request: CreateTopicsRequest, _ context: RequestContext) async -> CreateTopicsResponse? {
        await services.cluster.createTopics(request)
    }
}

/// DeleteTopics (key 20), answered by the controller.
struct DeleteTopicsHandler: KafkaAPIHandler {
    typealias Request = DeleteTopicsRequest
    static let versions: ClosedRange<Int16> = 0...3
    let services: BrokerServices
    func handle(_ request: DeleteTopicsRequest, _ context: RequestContext) async -> DeleteTopicsResponse? {
        await services.cluster.deleteTopics(request)
    }
}

/// CreatePartitions (key 37), answered by the controller.
struct CreatePartitionsHandler: KafkaAPIHandler {
    typealias Request = CreatePartitionsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices
    func handle(_ request: CreatePartitionsRequest, _ context: RequestContext) async -> CreatePartitionsResponse? {
        await services.cluster.createPartitions(request)
    }
}

/// AlterConfigs (key 33), answered by the controller. v0-1 (v2 is flexible).
struct AlterConfigsHandler: KafkaAPIHandler {
    typealias Request = AlterConfigsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices
    func handle(_ request: AlterConfigsRequest, _ context: RequestContext) async -> AlterConfigsResponse? {
        await services.cluster.alterConfigs(request)
    }
}

/// IncrementalAlterConfigs (key 44), answered by the controller. v0 only (v1 is flexible);
/// librdkafka and kafka-python both send v0 to a broker that advertises no more.
struct IncrementalAlterConfigsHandler: KafkaAPIHandler {
    typealias Request = IncrementalAlterConfigsRequest
    static let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices
    func handle(_ request: IncrementalAlterConfigsRequest, _ context: RequestContext) async -> IncrementalAlterConfigsResponse? {
        await services.cluster.incrementalAlterConfigs(request)
    }
}

/// ElectLeaders (key 43), answered by the controller: preferred elections, and unclean ones
/// only when asked (election type 1). v0-1 (v2 is flexible).
struct ElectLeadersHandler: KafkaAPIHandler {
    typealias Request = ElectLeadersRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices
    func handle(_ request: ElectLeadersRequest, _ context: RequestContext) async -> ElectLeadersResponse? {
        await services.cluster.electLeaders(request)
    }
}
