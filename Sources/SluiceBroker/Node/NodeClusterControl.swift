import Logging
import NIOCore
import SluiceCore
import SluiceWire
import Synchronization

/// `ClusterControl` for a node: its own controller when it leads the metadata log, otherwise
/// the controller node over the inter-node listener (so a client may send admin requests to
/// any node, and kafka-python's InitProducerId to the least loaded one).
final class NodeClusterControl: ClusterControl {
    let nodeID: NodeID
    let local: ControllerService
    let view: MetadataView
    let client: InterNodeClient
    /// Inter-node addresses of the voters (the controller is always one).
    let voters: [NodeID: HostPort]
    let logger: Logger
    /// This node's replicas, which follow the metadata on their own: admin changes wait
    /// (briefly) for them, so a client that creates a topic here can use it here at once.
    let partitions: PartitionManager?
    /// Producer ids handed out on this node from a block the controller allocated.
    private let producerIDs = Mutex<Range<Int64>>(0..<0)

    init(nodeID: NodeID, local: ControllerService, view: MetadataView, client: InterNodeClient,
         voters: [NodeID: HostPort], logger: Logger, partitions: PartitionManager? = nil) {
        self.nodeID = nodeID
        self.partitions = partitions
        self.local = local
        self.view = view
        self.client = client
        self.voters = voters
        self.logger = logger
    }

    /// The controller's inter-node address, when another node is controller.
    private var remoteController: HostPort? {
        guard let id = view.current.controllerID, id != nodeID else { return nil }
        return voters[id]
    }

    private func forward<R: APIRequest>(_ request: R, version: Int16) async -> R.Response? {
        guard let address = remoteController else { return nil }
        var body = ByteBufferAllocator().buffer(capacity: 128)
        request.encode(into: &body, version: version)
        do {
            let answer = try await client.call(ControllerForwardRequest(apiKey: R.apiKey, apiVersion: version, body: Array(body.readableBytesView)), to: address)
            guard answer.errorCode == 0, let bytes = answer.body else { return nil }
            return try R.Response.decode(exactly: ByteBuffer(bytes: bytes), version: version)
        } catch {
            logger.warning("forwarding \(R.self) to the controller at \(address) failed: \(error)")
            return nil
        }
    }

    /// Forwarded admin requests use the highest version of each API the node serves, so no
    /// field a client sent is lost on the way.
    static let forwardVersion: [Int16: Int16] = [
        CreateTopicsRequest.apiKey: CreateTopicsHandler.versions.upperBound,
        DeleteTopicsRequest.apiKey: DeleteTopicsHandler.versions.upperBound,
        CreatePartitionsRequest.apiKey: CreatePartitionsHandler.versions.upperBound,
        AlterConfigsRequest.apiKey: AlterConfigsHandler.versions.upperBound,
        IncrementalAlterConfigsRequest.apiKey: IncrementalAlterConfigsHandler.versions.upperBound,
        ElectLeadersRequest.apiKey: ElectLeadersHandler.versions.upperBound,
    ]

    func electLeaders(_ request: ElectLeadersRequest) async -> ElectLeadersResponse {
        if await local.isActive { return await local.electLeaders(request) }
        if let answer = await forward(request, version: Self.forwardVersion[ElectLeadersRequest.apiKey]!) { return answer }
        return await local.electLeaders(request)  // answers NOT_CONTROLLER
    }

    func createTopics(_ request: CreateTopicsRequest) async -> CreateTopicsResponse {
        let answer: CreateTopicsResponse
        if await local.isActive {
            answer = await local.createTopics(request)
        } else if let forwarded = await forward(request, version: Self.forwardVersion[CreateTopicsRequest.apiKey]!) {
            answer = forwarded
        } else {
            return await local.createTopics(request)  // answers NOT_CONTROLLER
        }
        if !request.validateOnly {
            await settle(answer.topics.filter { $0.errorCode == 0 }.compactMap { TopicName(rawValue: $0.name) })
        }
        return answer
    }

    /// Waits (at most 2 s) until this node's image has `topics` and its replicas have followed
    /// that image: opened, and leading or following.
    private func settle(_ topics: [TopicName]) async {
        guard !topics.isEmpty else { return }
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline, topics.contains(where: { view.current.image.topic(named: $0) == nil }) {
            let seen = view.changed.generation
            await view.changed.wait(after: seen, timeout: .milliseconds(100))
        }
        guard let partitions else { return }
        let index = view.current.image.lastAppliedIndex
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await partitions.waitReconciled(through: index) }
            group.addTask { try? await Task.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    func deleteTopics(_ request: DeleteTopicsRequest) async -> DeleteTopicsResponse {
        if await local.isActive { return await local.deleteTopics(request) }
        if let answer = await forward(request, version: Self.forwardVersion[DeleteTopicsRequest.apiKey]!) { return answer }
        return await local.deleteTopics(request)
    }

    func createPartitions(_ request: CreatePartitionsRequest) async -> CreatePartitionsResponse {
        let answer: CreatePartitionsResponse
        if await local.isActive {
            answer = await local.createPartitions(request)
        } else if let forwarded = await forward(request, version: Self.forwardVersion[CreatePartitionsRequest.apiKey]!) {
            answer = forwarded
        } else {
            return await local.createPartitions(request)
        }
        if !request.validateOnly {
            await settle(answer.results.filter { $0.errorCode == 0 }.compactMap { TopicName(rawValue: $0.name) })
        }
        return answer
    }

    func alterConfigs(_ request: AlterConfigsRequest) async -> AlterConfigsResponse {
        let answer: AlterConfigsResponse
        if await local.isActive {
            answer = await local.alterConfigs(request)
        } else if let forwarded = await forward(request, version: Self.forwardVersion[AlterConfigsRequest.apiKey]!) {
            answer = forwarded
        } else {
            return await local.alterConfigs(request)
        }
        if !request.validateOnly { await settle(Self.changedTopics(answer.responses.map { ($0.resourceType, $0.resourceName, $0.errorCode) })) }
        return answer
    }

    func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest) async -> IncrementalAlterConfigsResponse {
        let answer: IncrementalAlterConfigsResponse
        if await local.isActive {
            answer = await local.incrementalAlterConfigs(request)
        } else if let forwarded = await forward(request, version: Self.forwardVersion[IncrementalAlterConfigsRequest.apiKey]!) {
            answer = forwarded
        } else {
            return await local.incrementalAlterConfigs(request)
        }
        if !request.validateOnly { await settle(Self.changedTopics(answer.responses.map { ($0.resourceType, $0.resourceName, $0.errorCode) })) }
        return answer
    }

    /// Topics whose configs an answer says changed, so `settle` lets this node's logs take
    /// the new settings before the client hears of them.
    private static func changedTopics(_ results: [(type: Int8, name: String, errorCode: Int16)]) -> [TopicName] {
        results.filter { $0.type == ConfigResourceType.topic.rawValue && $0.errorCode == 0 }.compactMap { TopicName(rawValue: $0.name) }
    }

    func autoCreate(_ topics: [TopicName]) async {
        let request = CreateTopicsRequest(topics: topics.map { .init(name: $0.rawValue, numPartitions: -1, replicationFactor: -1) },
                                          timeoutMs: 5000)
        _ = await createTopics(request)
        // Created here or concurrently by another client: wait (briefly) until this node has
        // applied them, so the Metadata answer that follows already lists them.
        await settle(topics)
    }

    func allocateProducerID() async -> ProducerID? {
        if let id = producerIDs.withLock({ range -> Int64? in range.popFirst() }) { return ProducerID(id) }
        let block: Range<Int64>?
        if await local.isActive {
            block = await local.allocateProducerIDBlock()
        } else if let address = remoteController,
                  let answer = try? await client.call(AllocateProducerIdsRequest(nodeID: nodeID), to: address), answer.errorCode == 0 {
            block = answer.firstProducerID.rawValue..<(answer.firstProducerID.rawValue + Int64(answer.count))
        } else {
            block = nil
        }
        guard var range = block, let first = range.popFirst() else { return nil }
        producerIDs.withLock { $0 = range }
        return ProducerID(first)
    }
}
