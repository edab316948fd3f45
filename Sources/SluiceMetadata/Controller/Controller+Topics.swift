import SluiceCore
import SluiceWire

/// One topic of a CreateTopics request.
public struct CreateTopicRequest: Hashable, Sendable {
    public var name: String
    /// -1: `ControllerOptions.defaultPartitions`.
    public var numPartitions: Int32
    /// -1: `ControllerOptions.defaultReplicationFactor`.
    public var replicationFactor: Int16
    /// Config overrides; a `nil` value is refused (there is nothing to delete yet).
    public var configs: [String: String?]
    public init(name: String, numPartitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String?] = [:]) {
        self.name = name
        self.numPartitions = numPartitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// The per-topic answer of CreateTopics, DeleteTopics or CreatePartitions.
public struct TopicResult: Hashable, Sendable {
    public var name: String
    public var error: KafkaErrorCode
    public var message: String?
    /// The new topic's id when CreateTopics created it (zero when only validating); the topic's id for DeleteTopics and CreatePartitions.
    public var topicID: KafkaUUID = .zero
    public var numPartitions: Int32 = -1
    public var replicationFactor: Int16 = -1

    static func failure(_ name: String, _ error: KafkaErrorCode, _ message: String) -> TopicResult {
        TopicResult(name: name, error: error, message: message)
    }
}

extension Controller {
    // MARK: CreateTopics

    /// Validates each topic and, unless `validateOnly`, creates it with replicas spread over the
    /// unfenced brokers. Each created topic's records form one unit (never split across entries).
    public mutating func createTopics(_ requests: [CreateTopicRequest], validateOnly: Bool) -> ControllerOutput<[TopicResult]> {
        var units: [[MetadataRecord]] = []
        var results: [TopicResult] = []
        let occurrences = Dictionary(requests.map { ($0.name, 1) }, uniquingKeysWith: +)
        for request in requests {
            if occurrences[request.name]! > 1 {
                results.append(.failure(request.name, .invalidRequest, "topic \(request.name) appears more than once"))
                continue
            }
            switch planTopic(request) {
            case .failure(let failure):
                results.append(failure.result)
            case .success(let plan):
                var result = TopicResult(
                    name: request.name, error: .none, message: nil, numPartitions: Int32(plan.replicas.count),
                    replicationFactor: Int16(plan.replicas.first?.count ?? 0))
                if !validateOnly {
                    let records = topicRecords(plan)
                    adopt(records)
                    units.append(records)
                    result.topicID = plan.topicID
                }
                results.append(result)
            }
        }
        return ControllerOutput(units: units, result: results)
    }

    struct TopicPlan {
        var name: TopicName
        var topicID: KafkaUUID
        var replicas: [[NodeID]]
        var configs: [(String, String)]
    }

    struct PlanFailure: Error {
        var result: TopicResult
    }

    mutating func planTopic(_ request: CreateTopicRequest) -> Result<TopicPlan, PlanFailure> {
        func fail(_ code: KafkaErrorCode, _ message: String) -> Result<TopicPlan, PlanFailure> {
            .failure(PlanFailure(result: .failure(request.name, code, message)))
        }
        let name: TopicName
        do {
            name = try TopicName(validating: request.name)
        } catch {
            return fail(.invalidTopicException, error.description)
        }
        if image.topicIDsByName[name] != nil { return fail(.topicAlreadyExists, "topic \(name) already exists") }
        let partitions = request.numPartitions == -1 ? options.defaultPartitions : request.numPartitions
        guard (1...Self.partitionsPerTopicMax).contains(partitions) else {
            return fail(.invalidPartitions, "partition count must be in 1...\(Self.partitionsPerTopicMax), not \(partitions)")
        }
        guard image.partitionCount + Int(partitions) <= options.clusterPartitionsMax else {
            return fail(.invalidPartitions, "the cluster would have more than \(options.clusterPartitionsMax) partitions")
        }
        let rf = Int(request.replicationFactor == -1 ? options.defaultReplicationFactor : request.replicationFactor)
        let brokers = image.unfencedBrokerIDs
        guard rf >= 1 && rf <= brokers.count else {
            return fail(.invalidReplicationFactor, "replication factor \(rf) needs that many unfenced brokers; \(brokers.count) are")
        }
        var configs: [(String, String)] = []
        for (key, value) in request.configs.sorted(by: { $0.key < $1.key }) {
            if let problem = configProblem(key: key, value: value) { return fail(.invalidConfig, problem) }
            configs.append((key, value!))
        }
        let cursor = image.partitionCount
        let replicas = ReplicaPlacement.assign(
            partitions: 0..<Int(partitions), replicationFactor: rf, brokers: brokers,
            start: cursor % brokers.count, shift: (cursor / brokers.count) % brokers.count)
        return .success(TopicPlan(name: name, topicID: newTopicID(), replicas: replicas, configs: configs))
    }

    func topicRecords(_ plan: TopicPlan) -> [MetadataRecord] {
        var records: [MetadataRecord] = [.topic(TopicRecord(name: plan.name, topicID: plan.topicID))]
        for (key, value) in plan.configs {
            records.append(.config(ConfigRecord(resource: .topic(plan.name), key: key, value: value)))
        }
        for (p, replicas) in plan.replicas.enumerated() {
            records.append(
                .partition(
                    PartitionRecord(
                        topicID: plan.topicID, partition: PartitionIndex(Int32(p)), replicas: replicas, isr: replicas,
                        leader: replicas[0])))
        }
        return records
    }

    /// A random version-4 UUID that is neither zero nor taken.
    mutating func newTopicID() -> KafkaUUID {
        while true {
            // Version 4 and the RFC 4122 variant, as Kafka's `Uuid.randomUuid`.
            let high = (random.next() & ~0xF000) | 0x4000
            let low = (random.next() & ~(0b11 << 62)) | (0b10 << 62)
            let id = KafkaUUID(high: high, low: low)
            if image.topicsByID[id] == nil { return id }
        }
    }

    /// Why `key = value` cannot be set on a topic, or `nil`.
    func configProblem(key: String, value: String?) -> String? {
        guard let known = TopicConfigKey(rawValue: key) else { return "unknown topic config \(key)" }
        guard let value else { return "config \(key) has no value" }
        return known.problem(with: value)
    }

    // MARK: DeleteTopics

    public mutating func deleteTopics(_ names: [String]) -> ControllerOutput<[TopicResult]> {
        var records: [MetadataRecord] = []
        var results: [TopicResult] = []
        let occurrences = Dictionary(names.map { ($0, 1) }, uniquingKeysWith: +)
        for name in names {
            if occurrences[name]! > 1 {
                results.append(.failure(name, .invalidRequest, "topic \(name) appears more than once"))
                continue
            }
            guard let topicName = TopicName(rawValue: name), let id = image.topicIDsByName[topicName] else {
                results.append(.failure(name, .unknownTopicOrPartition, "no topic named \(name)"))
                continue
            }
            let record = MetadataRecord.removeTopic(RemoveTopicRecord(topicID: id))
            adopt([record])
            records.append(record)
            results.append(TopicResult(name: name, error: .none, message: nil, topicID: id))
        }
        return ControllerOutput(units: [records], result: results)
    }

    // MARK: CreatePartitions

    /// Grows `name` to `count` partitions with the topic's replication factor. Counts only grow.
    public mutating func createPartitions(_ name: String, count: Int32, validateOnly: Bool) -> ControllerOutput<TopicResult> {
        func fail(_ code: KafkaErrorCode, _ message: String) -> ControllerOutput<TopicResult> {
            ControllerOutput(units: [], result: .failure(name, code, message))
        }
        guard let topicName = TopicName(rawValue: name), let topic = image.topic(named: topicName) else {
            return fail(.unknownTopicOrPartition, "no topic named \(name)")
        }
        let existing = Int32(topic.partitions.count)
        guard count > existing else {
            return fail(.invalidPartitions, "topic \(name) has \(existing) partitions; the count can only grow")
        }
        guard count <= Self.partitionsPerTopicMax else {
            return fail(.invalidPartitions, "partition count must be at most \(Self.partitionsPerTopicMax)")
        }
        guard image.partitionCount + Int(count - existing) <= options.clusterPartitionsMax else {
            return fail(.invalidPartitions, "the cluster would have more than \(options.clusterPartitionsMax) partitions")
        }
        let rf = topic.partitions.first?.replicas.count ?? 1
        let brokers = image.unfencedBrokerIDs
        guard rf <= brokers.count else {
            return fail(.invalidReplicationFactor, "replication factor \(rf) needs that many unfenced brokers; \(brokers.count) are")
        }
        let result = TopicResult(name: name, error: .none, message: nil, topicID: topic.topicID, numPartitions: count, replicationFactor: Int16(rf))
        if validateOnly { return ControllerOutput(units: [], result: result) }
        // Continue the topic's own round-robin from where partition 0's leader started.
        let start = topic.partitions.first.flatMap { brokers.firstIndex(of: $0.replicas[0]) } ?? 0
        let replicas = ReplicaPlacement.assign(
            partitions: Int(existing)..<Int(count), replicationFactor: rf, brokers: brokers, start: start,
            shift: (image.partitionCount / brokers.count) % brokers.count)
        let records = replicas.enumerated().map { offset, replicas in
            MetadataRecord.partition(
                PartitionRecord(
                    topicID: topic.topicID, partition: PartitionIndex(existing + Int32(offset)), replicas: replicas,
                    isr: replicas, leader: replicas[0]))
        }
        adopt(records)
        return ControllerOutput(units: [records], result: result)
    }

    // MARK: AlterConfigs

    /// Sets (or, with a `nil` value, deletes) topic config keys. All or nothing: one bad entry
    /// fails the whole resource, as Kafka's AlterConfigs does.
    public mutating func alterTopicConfigs(
        _ name: String, _ entries: [String: String?], validateOnly: Bool
    ) -> ControllerOutput<TopicResult> {
        guard let topicName = TopicName(rawValue: name), image.topicIDsByName[topicName] != nil else {
            return ControllerOutput(units: [], result: .failure(name, .unknownTopicOrPartition, "no topic named \(name)"))
        }
        var records: [MetadataRecord] = []
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            let problem = value == nil
                ? (TopicConfigKey(rawValue: key) == nil ? "unknown topic config \(key)" : nil)
                : configProblem(key: key, value: value)
            if let problem {
                return ControllerOutput(units: [], result: .failure(name, .invalidConfig, problem))
            }
            records.append(.config(ConfigRecord(resource: .topic(topicName), key: key, value: value)))
        }
        if validateOnly { records = [] }
        adopt(records)
        var elections = PartitionChanges()
        if records.contains(where: { $0 == .config(ConfigRecord(resource: .topic(topicName), key: TopicConfigKey.uncleanLeaderElectionEnable.rawValue, value: "true")) }) {
            elections = electUncleanLeaders(of: image.topicIDsByName[topicName]!)
        }
        return ControllerOutput(
            units: [records, elections.records], result: TopicResult(name: name, error: .none, message: nil),
            notices: elections.notices)
    }
}
