import SluiceCore
import SluiceWire

/// Topic and cluster administration: create, delete, list, describe (with each partition's
/// offsets), add partitions, read configs, and the cluster's nodes and controller.
///
/// Changes go to the controller (as Kafka's admin clients send them); a NOT_CONTROLLER answer
/// or a lost connection refreshes the metadata and tries again, within the request timeout.
public struct AdminClient: Sendable {
    let cluster: ClusterClient

    // MARK: topics

    /// Creates `topics` and, unless `waitForLeaders` is false, waits until every new partition
    /// has a leader in the metadata (so producing to them works at once). Throws the first
    /// topic's error (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, …).
    public func createTopics(_ topics: [NewTopic], waitForLeaders: Bool = true) async throws(SluiceClientError) {
        let request = CreateTopicsRequest(
            topics: topics.map { topic in
                .init(name: topic.name.rawValue, numPartitions: topic.partitionCount,
                      replicationFactor: topic.replicationFactor,
                      configs: topic.configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
            },
            timeoutMs: timeoutMs)
        let response = try await withControllerRetries { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 4)
            try Self.retryIfNotController(answer.topics.map(\.errorCode), api: .createTopics)
            return answer
        }
        for result in response.topics {
            if let error = SluiceClientError.serverIfError(result.errorCode, api: .createTopics,
                                                           resource: "topic \(result.name)", message: result.errorMessage) {
                throw error
            }
        }
        if waitForLeaders { try await awaitLeaders(of: topics.map(\.name)) }
    }

    /// Creates one topic; see ``createTopics(_:waitForLeaders:)``.
    public func createTopic(_ name: TopicName, partitionCount: Int32 = -1, replicationFactor: Int16 = -1,
                            configs: [String: String] = [:]) async throws(SluiceClientError) {
        try await createTopics([NewTopic(name: name, partitionCount: partitionCount,
                                         replicationFactor: replicationFactor, configs: configs)])
    }

    /// Deletes `topics` and waits until the metadata no longer lists them; throws the first
    /// error (UNKNOWN_TOPIC_OR_PARTITION if one does not exist).
    public func deleteTopics(_ topics: [TopicName]) async throws(SluiceClientError) {
        let request = DeleteTopicsRequest(topicNames: topics.map(\.rawValue), timeoutMs: timeoutMs)
        let response = try await withControllerRetries { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 3)
            try Self.retryIfNotController(answer.responses.map(\.errorCode), api: .deleteTopics)
            return answer
        }
        for result in response.responses {
            if let error = SluiceClientError.serverIfError(result.errorCode, api: .deleteTopics,
                                                           resource: "topic \(result.name)") {
                throw error
            }
        }
        try await awaitDeletion(of: topics)
    }

    /// Every topic's name, sorted (internal topics only if asked).
    public func listTopics(includeInternal: Bool = false) async throws(SluiceClientError) -> [TopicName] {
        let metadata = try await cluster.metadata(topics: nil, refresh: true)
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    /// Grows `topic` to `totalCount` partitions (CreatePartitions). Keys hashed to a partition
    /// move when the count changes: records of one key written before and after land in
    /// different partitions, so per-key order across the change is lost.
    public func addPartitions(to topic: TopicName, totalCount: Int32) async throws(SluiceClientError) {
        let request = CreatePartitionsRequest(topics: [.init(name: topic.rawValue, count: totalCount, assignments: nil)],
                                              timeoutMs: timeoutMs, validateOnly: false)
        let response = try await withControllerRetries { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 1)
            try Self.retryIfNotController(answer.results.map(\.errorCode), api: .createPartitions)
            return answer
        }
        for result in response.results {
            if let error = SluiceClientError.serverIfError(result.errorCode, api: .createPartitions,
                                                           resource: "topic \(result.name)", message: result.errorMessage) {
                throw error
            }
        }
        try await awaitLeaders(of: [topic], partitionCount: Int(totalCount))
    }

    /// The configuration of `topic` (DescribeConfigs), sorted by name.
    public func describeConfigs(ofTopic topic: TopicName) async throws(SluiceClientError) -> [ConfigEntry] {
        try await describeConfigs(resourceType: 2, name: topic.rawValue, label: "topic \(topic)")
    }

    /// The configuration of node `node` (DescribeConfigs), sorted by name.
    public func describeConfigs(ofNode node: NodeID) async throws(SluiceClientError) -> [ConfigEntry] {
        try await describeConfigs(resourceType: 4, name: "\(node.rawValue)", label: "node \(node)", at: node)
    }

    private func describeConfigs(resourceType: Int8, name: String, label: String,
                                 at node: NodeID? = nil) async throws(SluiceClientError) -> [ConfigEntry] {
        let request = DescribeConfigsRequest(
            resources: [.init(resourceType: resourceType, resourceName: name, configurationKeys: nil)])
        let response: DescribeConfigsResponse
        if let node {
            response = try await cluster.send(request, to: node, maxVersion: 3)
        } else {
            response = try await cluster.sendToAny(request, maxVersion: 3)
        }
        var entries: [ConfigEntry] = []
        for result in response.results {
            if let error = SluiceClientError.serverIfError(result.errorCode, api: .describeConfigs, resource: label,
                                                           message: result.errorMessage) {
                throw error
            }
            entries += result.configs.map {
                ConfigEntry(name: $0.name, value: $0.value, isDefault: $0.isDefault || $0.configSource == 5,
                            isReadOnly: $0.readOnly, isSensitive: $0.isSensitive)
            }
        }
        return entries.sorted { $0.name < $1.name }
    }

    // MARK: cluster

    /// The nodes, the controller and the cluster id, freshly read.
    public func describeCluster() async throws(SluiceClientError) -> ClusterDescription {
        let metadata = try await cluster.metadata(topics: [], refresh: true)
        return ClusterDescription(clusterID: metadata.clusterID, controllerID: metadata.controllerID,
                                  nodes: metadata.sortedBrokers)
    }

    // MARK: helpers

    var timeoutMs: Int32 {
        let timeout = cluster.configuration.requestTimeout.components
        return Int32(clamping: timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000)
    }

    /// Runs `call` against the controller (any node if none is known), again after a retriable
    /// error or NOT_CONTROLLER, with the client's backoff, until the request timeout.
    /// Per-topic NOT_CONTROLLER (the controller moved between the metadata and the request)
    /// as a retriable error, so `withControllerRetries` asks the new controller; nothing was
    /// changed for those topics.
    static func retryIfNotController(_ codes: [Int16], api: KafkaAPIKey) throws(SluiceClientError) {
        if codes.contains(KafkaErrorCode.notController.rawValue) {
            throw .server(.notController, api: api, resource: nil, message: "the controller moved")
        }
    }

    func withControllerRetries<T: Sendable>(
        _ call: (NodeID) async throws(SluiceClientError) -> T
    ) async throws(SluiceClientError) -> T {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        var refresh = false
        while true {
            do throws(SluiceClientError) {
                let metadata = try await cluster.metadata(topics: [], refresh: refresh)
                guard let controller = metadata.controllerID ?? metadata.sortedBrokers.first?.id else {
                    throw .server(.brokerNotAvailable, api: .metadata, resource: nil,
                                                   message: "the metadata names no node")
                }
                return try await call(controller)
            } catch where error.isRetriable && ContinuousClock.now < deadline {
                refresh = true
                try? await Task.sleep(for: cluster.configuration.retryBackoff)
            }
        }
    }

    /// Waits until the metadata no longer lists `topics`: the controller answers once the
    /// deletion commits, and the node a later call asks may apply it a moment after.
    func awaitDeletion(of topics: [TopicName]) async throws(SluiceClientError) {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        while true {
            let metadata = try await cluster.metadata(topics: nil, refresh: true)
            if topics.allSatisfy({ metadata.topics[$0] == nil }) { return }
            guard ContinuousClock.now < deadline else {
                throw .server(.requestTimedOut, api: .metadata, resource: topics.map(\.rawValue).joined(separator: ", "),
                              message: "the topics were still listed \(cluster.configuration.requestTimeout) after their deletion")
            }
            try? await Task.sleep(for: cluster.configuration.retryBackoff)
        }
    }

    /// Waits (within the request timeout) until each topic has `partitionCount` partitions
    /// (any count if nil) and every one has a leader.
    func awaitLeaders(of topics: [TopicName], partitionCount: Int? = nil) async throws(SluiceClientError) {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        while true {
            let metadata = try await cluster.metadata(topics: topics, refresh: true)
            let ready = topics.allSatisfy { name in
                guard let topic = metadata.topics[name], !topic.partitions.isEmpty else { return false }
                return (partitionCount.map { topic.partitions.count >= $0 } ?? true)
                    && topic.partitions.allSatisfy { $0.leader != nil }
            }
            if ready { return }
            guard ContinuousClock.now < deadline else {
                throw .server(.leaderNotAvailable, api: .metadata,
                              resource: topics.map(\.rawValue).joined(separator: ", "),
                              message: "the partitions had no leader within \(cluster.configuration.requestTimeout)")
            }
            try? await Task.sleep(for: cluster.configuration.retryBackoff)
        }
    }
}

extension SluiceClient {
    /// Topic and cluster administration through this client's connections.
    public var admin: AdminClient { AdminClient(cluster: cluster) }
}
