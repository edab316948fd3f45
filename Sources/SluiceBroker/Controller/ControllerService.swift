import Logging
import SluiceCore
import SluiceMetadata
import SluiceWire

/// The controller, active on the Raft leader (DESIGN §2.1): it owns the pure `Controller`,
/// turns topic administration, broker heartbeats and its own clock into metadata records, and
/// answers once they commit. On other nodes it answers NOT_CONTROLLER.
///
/// Decisions run one at a time under a FIFO lock that is held across their proposals, so the
/// records of two decisions reach the log in decision order (the working image assumed it).
public actor ControllerService: ClusterControl {
    let nodeID: NodeID
    let log: any MetadataLog
    let view: MetadataView
    let options: ControllerOptions
    let logger: Logger
    let nowMs: @Sendable () -> Int64
    /// The pure controller while this node leads and has caught up; nil otherwise.
    private var controller: Controller?
    private let decisionLock = AsyncFIFOLock()
    /// Bumped by every `deactivate()`, so an activation that was proposing meanwhile does not
    /// install a controller on a node that no longer leads.
    private var generation = 0
    /// Producer ids handed out from the block this controller allocated.
    private var producerIDs: Range<Int64> = 0..<0

    public init(nodeID: NodeID, log: any MetadataLog, view: MetadataView, options: ControllerOptions,
                logger: Logger, nowMs: @escaping @Sendable () -> Int64) {
        self.nodeID = nodeID
        self.log = log
        self.view = view
        self.options = options
        self.logger = logger
        self.nowMs = nowMs
    }

    public var isActive: Bool { controller != nil }

    /// Called when this node becomes Raft leader, and by the runner's tick when the controller
    /// dropped itself after a failed proposal while this node still leads. An empty entry is
    /// committed first: once it is applied, every entry of earlier leaders is in the image the
    /// controller starts from. Under the decision lock, so no decision of the previous working
    /// image is still proposing when the new one starts.
    public func activate() async {
        await decisionLock.withLock {
            let generation = self.generation
            do {
                _ = try await log.propose([])
            } catch {
                logger.info("controller not activated: \(error)")
                return
            }
            // Leadership was lost while the entry committed: stay inactive.
            guard generation == self.generation else { return }
            controller = Controller(image: view.current.image, options: options, nowMs: nowMs(),
                                    seed: UInt64.random(in: 0...UInt64.max))
            producerIDs = 0..<0
            logger.info("controller active on node \(nodeID)")
        }
    }

    /// Called when leadership is lost: the working image may hold records that never commit.
    public func deactivate() {
        if controller != nil { logger.info("controller inactive on node \(nodeID)") }
        controller = nil
        generation += 1
    }

    /// Runs one decision and proposes its records; nil if this node is not the controller or
    /// the proposal failed (then the controller is discarded until it is activated again).
    func decide<Result: Sendable>(_ body: (inout Controller) -> ControllerOutput<Result>) async -> Result? {
        await decisionLock.withLock { await decideLocked(body) }
    }

    private func decideLocked<Result: Sendable>(_ body: (inout Controller) -> ControllerOutput<Result>) async -> Result? {
        guard var working = controller else { return nil }
        let output = body(&working)
        controller = working
        for batch in output.batches {
            do {
                _ = try await log.propose(batch.encodedBytes())
            } catch {
                logger.warning("metadata proposal failed, controller discarded: \(error)")
                controller = nil
                return nil
            }
        }
        for notice in output.notices { logger.warning("\(notice)") }
        return output.result
    }

    // MARK: ClusterControl

    public func createTopics(_ request: CreateTopicsRequest) async -> CreateTopicsResponse {
        let topics = request.topics.map { t in
            CreateTopicRequest(name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor,
                               configs: Dictionary(t.configs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last }))
        }
        guard let results = await decide({ $0.createTopics(topics, validateOnly: request.validateOnly) }) else {
            return CreateTopicsResponse(topics: request.topics.map {
                .init(name: $0.name, errorCode: KafkaErrorCode.notController.rawValue, errorMessage: "node \(nodeID) is not the controller")
            })
        }
        return CreateTopicsResponse(topics: results.map { .init(name: $0.name, errorCode: $0.error.rawValue, errorMessage: $0.message) })
    }

    public func deleteTopics(_ request: DeleteTopicsRequest) async -> DeleteTopicsResponse {
        guard let results = await decide({ $0.deleteTopics(request.topicNames) }) else {
            return DeleteTopicsResponse(responses: request.topicNames.map { .init(name: $0, errorCode: KafkaErrorCode.notController.rawValue) })
        }
        return DeleteTopicsResponse(responses: results.map { .init(name: $0.name, errorCode: $0.error.rawValue) })
    }

    public func createPartitions(_ request: CreatePartitionsRequest) async -> CreatePartitionsResponse {
        var results: [CreatePartitionsResponse.CreatePartitionsTopicResult] = []
        for topic in request.topics {
            if topic.assignments != nil {
                results.append(.init(name: topic.name, errorCode: KafkaErrorCode.invalidReplicaAssignment.rawValue,
                                     errorMessage: "manual replica assignment is not supported"))
                continue
            }
            guard let result = await decide({ $0.createPartitions(topic.name, count: topic.count, validateOnly: request.validateOnly) }) else {
                results.append(.init(name: topic.name, errorCode: KafkaErrorCode.notController.rawValue))
                continue
            }
            results.append(.init(name: result.name, errorCode: result.error.rawValue, errorMessage: result.message))
        }
        return CreatePartitionsResponse(results: results)
    }

    public func electLeaders(_ request: ElectLeadersRequest) async -> ElectLeadersResponse {
        let kind: Controller.ElectionKind
        switch request.electionType {
        case 0: kind = .preferred
        case 1: kind = .unclean
        default:
            return ElectLeadersResponse(errorCode: KafkaErrorCode.invalidRequest.rawValue, replicaElectionResults: [])
        }
        var named: [TopicPartition]?
        var invalid: [(String, [PartitionIndex])] = []
        if let topics = request.topicPartitions {
            named = []
            for t in topics {
                guard let name = TopicName(rawValue: t.topic) else { invalid.append((t.topic, t.partitions)); continue }
                named! += t.partitions.map { TopicPartition(name, $0) }
            }
        }
        guard let results = await decide({ $0.electLeaders(kind, partitions: named) }) else {
            return ElectLeadersResponse(errorCode: KafkaErrorCode.notController.rawValue, replicaElectionResults: [])
        }
        var byTopic: [String: [ElectLeadersResponse.ReplicaElectionResult.ElectLeadersPartitionResult]] = [:]
        var order: [String] = []
        func add(_ topic: String, _ result: ElectLeadersResponse.ReplicaElectionResult.ElectLeadersPartitionResult) {
            if byTopic[topic] == nil { order.append(topic) }
            byTopic[topic, default: []].append(result)
        }
        for r in results {
            add(r.partition.topic.rawValue, .init(partitionID: r.partition.partition, errorCode: r.error.rawValue, errorMessage: r.message))
        }
        for (topic, partitions) in invalid {
            for p in partitions {
                add(topic, .init(partitionID: p, errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue, errorMessage: "'\(topic)' is not a valid topic name"))
            }
        }
        let elected = results.filter { $0.error == .none }.map { "\($0.partition)" }
        if !elected.isEmpty { logger.info("ElectLeaders (\(kind)): new leaders for \(elected.joined(separator: ", "))") }
        return ElectLeadersResponse(errorCode: 0, replicaElectionResults: order.map { .init(topic: $0, partitionResult: byTopic[$0]!) })
    }

    public func autoCreate(_ topics: [TopicName]) async {
        let requests = topics.map { CreateTopicRequest(name: $0.rawValue) }
        _ = await decide { $0.createTopics(requests, validateOnly: false) }
    }

    /// Ids come from blocks the controller records in the metadata log, so no id is handed out
    /// twice, even across controller failovers.
    public func allocateProducerID() async -> ProducerID? {
        if producerIDs.isEmpty {
            guard let block = await allocateProducerIDBlock() else { return nil }
            producerIDs = block
        }
        let id = producerIDs.lowerBound
        producerIDs = producerIDs.dropFirst()
        return ProducerID(id)
    }

    /// A fresh block of producer ids, recorded in the metadata log (for this node or another).
    public func allocateProducerIDBlock() async -> Range<Int64>? {
        guard case .allocated(let first, let count) = await decide({ $0.allocateProducerIDs(count: Self.producerIDBlockSize) }) else {
            return nil
        }
        return first.rawValue..<(first.rawValue + Int64(count))
    }

    static let producerIDBlockSize: Int32 = 1000

    // MARK: brokers

    public func heartbeat(_ heartbeat: BrokerHeartbeat) async -> BrokerHeartbeatResult? {
        await decide { $0.brokerHeartbeat(heartbeat, nowMs: nowMs()) }
    }

    /// A partition leader's ISR change (AlterPartition): the pure decision, and its answer once
    /// the change has committed; nil if this node is not the controller (NOT_CONTROLLER).
    public func alterPartition(_ request: SluiceMetadata.AlterPartitionRequest) async -> AlterPartitionResult? {
        await decide { $0.alterPartition(request) }
    }

    /// A replica with a damaged log leaves the ISR (and hands leadership off if it led); nil if
    /// this node is not the controller.
    public func replicaDamaged(_ report: DamagedReplicaReport) async -> AlterPartitionResult? {
        let result = await decide { $0.replicaDamaged(report) }
        if case .accepted(let state)? = result {
            logger.warning("\(report.topic)-\(report.partition): broker \(report.replicaID) reports a damaged log (\(report.reason)); leader \(state.leader) (epoch \(state.leaderEpoch)), ISR \(state.isr)")
        }
        return result
    }

    /// Fences brokers whose lease expired and moves their partitions' leadership.
    public func tick() async {
        if let fenced = await decide({ $0.tick(nowMs: nowMs()) }), !fenced.isEmpty {
            logger.warning("fenced brokers \(fenced): their leases expired")
        }
    }

}
