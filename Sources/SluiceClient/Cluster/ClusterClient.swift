import NIOCore
import NIOPosix
import SluiceCore
import SluiceTLS
import SluiceWire

/// Everything the producer, the consumer and the admin client share (one per ``SluiceClient``):
/// one connection per node, the metadata cache, and the group coordinators found so far.
///
/// - Connections are opened on first use and replaced when they close; concurrent callers
///   wanting the same node share one connect.
/// - Metadata is fetched from any reachable node (bootstrap addresses first, then every known
///   broker) and cached; a read older than ``ClientConfiguration/metadataMaxAge`` refreshes it,
///   so a long-lived client re-reads the cluster periodically, and callers refresh it at once
///   after an error that means it is stale (``invalidateMetadata()``). Concurrent refreshes
///   share one request.
actor ClusterClient {
    let configuration: ClientConfiguration
    nonisolated let group: any EventLoopGroup
    private let tls: TLSContext?
    private let bootstrap: [BrokerAddress]

    /// Open (or recently open) connections by address. Invariant: at most one per address.
    private var connections: [BrokerAddress: BrokerConnection] = [:]
    private var connecting: [BrokerAddress: Task<BrokerConnection, any Error>] = [:]
    /// Addresses of nodes learnt outside Metadata (a coordinator's FindCoordinator answer).
    private var extraAddresses: [NodeID: BrokerAddress] = [:]
    /// The address that answered last; tried first by ``sendToAny(_:maxVersion:)``.
    private var lastGoodAddress: BrokerAddress?

    private var cached = ClusterMetadata()
    private var cachedAt: ContinuousClock.Instant?
    /// Whether `cached` holds every topic (the last refresh asked for all).
    private var cachedHasAllTopics = false
    /// Topics callers asked about; refreshes include them so none drops out of the cache.
    private var topicsOfInterest: Set<TopicName> = []
    private var refreshing: Task<ClusterMetadata, any Error>?
    /// The topics the refresh under way asks for (nil: all).
    private var refreshingTopics: Set<TopicName>?

    /// Partitions whose cached leader was kept over older-epoch answers; taken after
    /// `metadataMaxAge` of nothing else (a re-created topic).
    private var olderEpochAnswers = OlderEpochAnswers()

    private var coordinators: [String: NodeID] = [:]
    private var isClosed = false

    /// Checks the configuration and builds the TLS context; connects to nothing yet.
    init(configuration: ClientConfiguration,
         group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(SluiceClientError) {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw .invalidConfiguration(problems) }
        self.configuration = configuration
        self.group = group
        self.bootstrap = configuration.bootstrap.compactMap(BrokerAddress.init)
        if let settings = configuration.tls {
            do {
                tls = try TLSContext(configuration: settings.configuration)
            } catch {
                throw .invalidConfiguration(["TLS: \(error)"])
            }
        } else {
            tls = nil
        }
    }

    // MARK: connections

    /// The connection to `node`, opened if needed.
    func connection(to node: NodeID) async throws(SluiceClientError) -> BrokerConnection {
        try await connection(to: address(of: node))
    }

    private func address(of node: NodeID) async throws(SluiceClientError) -> BrokerAddress {
        if let broker = cached.brokers[node] { return BrokerAddress(host: broker.host, port: broker.port) }
        if let address = extraAddresses[node] { return address }
        let fresh = try await metadata(topics: [], refresh: true)
        guard let broker = fresh.brokers[node] else { throw .unknownNode(node) }
        return BrokerAddress(host: broker.host, port: broker.port)
    }

    func connection(to address: BrokerAddress) async throws(SluiceClientError) -> BrokerConnection {
        guard !isClosed else { throw .closed }
        if let open = connections[address], open.isActive { return open }
        let task: Task<BrokerConnection, any Error>
        if let pending = connecting[address] {
            task = pending
        } else {
            let (configuration, tls, group) = (configuration, tls, group)
            // An unstructured task so that every caller wanting this address awaits the one
            // connect (a child task could not be shared); it ends with the connect.
            task = Task { try await BrokerConnection.connect(to: address, configuration: configuration, tls: tls, group: group) }
            connecting[address] = task
        }
        do {
            let connection = try await task.value
            if connecting[address] == task { connecting[address] = nil }
            guard !isClosed else {
                await connection.close()
                throw SluiceClientError.closed
            }
            if let existing = connections[address], existing !== connection, existing.isActive { return existing }
            connections[address] = connection
            return connection
        } catch {
            if connecting[address] == task { connecting[address] = nil }
            throw Self.clientError(error)
        }
    }

    /// Forgets the connection to `node` (after it failed), so the next call reconnects.
    func dropConnection(_ connection: BrokerConnection) async {
        if connections[connection.address] === connection { connections[connection.address] = nil }
        await connection.close()
    }

    // MARK: requests

    /// Sends to a node (connecting if needed), at the highest common version ≤ `maxVersion`.
    /// A connection failure drops the connection and marks the metadata stale.
    func send<R: APIRequest>(_ request: R, to node: NodeID,
                             maxVersion: Int16) async throws(SluiceClientError) -> R.Response {
        let connection = try await connection(to: node)
        return try await send(request, on: connection, maxVersion: maxVersion)
    }

    /// Sends to any reachable node: the one that answered last, then the known brokers, then
    /// the bootstrap addresses.
    func sendToAny<R: APIRequest>(_ request: R, maxVersion: Int16) async throws(SluiceClientError) -> R.Response {
        var failures: [String] = []
        for address in candidateAddresses() {
            let connection: BrokerConnection
            do {
                connection = try await self.connection(to: address)
            } catch .closed {
                throw .closed
            } catch {
                failures.append("\(address): \(error)")
                continue
            }
            do {
                let response = try await send(request, on: connection, maxVersion: maxVersion)
                lastGoodAddress = address
                return response
            } catch where error.isRetriable {
                failures.append("\(address): \(error)")
            }
        }
        throw .noNodeReachable(failures)
    }

    private func send<R: APIRequest>(_ request: R, on connection: BrokerConnection,
                                     maxVersion: Int16) async throws(SluiceClientError) -> R.Response {
        guard let version = connection.version(for: R.self, max: maxVersion) else {
            throw .unsupportedVersion(api: BrokerConnection.apiName(R.apiKey), address: connection.address.description)
        }
        do {
            return try await connection.send(request, version: version)
        } catch {
            if case .connectionClosed = error { await connectionFailed(connection) }
            if case .requestTimedOut = error { await connectionFailed(connection) }
            throw error
        }
    }

    private func connectionFailed(_ connection: BrokerConnection) async {
        await dropConnection(connection)
        invalidateMetadata()
    }

    private func candidateAddresses() -> [BrokerAddress] {
        var seen: Set<BrokerAddress> = []
        var ordered: [BrokerAddress] = []
        let known = cached.sortedBrokers.map { BrokerAddress(host: $0.host, port: $0.port) }
        for address in [lastGoodAddress].compactMap({ $0 }) + known + bootstrap where seen.insert(address).inserted {
            ordered.append(address)
        }
        return ordered
    }

    // MARK: metadata

    /// The cached metadata, refreshed first when it is older than the configured maximum age,
    /// lacks one of `topics` (nil: all topics), or `refresh` is true.
    func metadata(topics: [TopicName]?, refresh: Bool) async throws(SluiceClientError) -> ClusterMetadata {
        if let topics { topicsOfInterest.formUnion(topics) }
        if !refresh, let cachedAt, ContinuousClock.now - cachedAt < configuration.metadataMaxAge {
            let covered = topics.map { $0.allSatisfy { cached.topics[$0] != nil } } ?? cachedHasAllTopics
            if covered { return cached }
        }
        return try await refreshMetadata(allTopics: topics == nil)
    }

    private func refreshMetadata(allTopics: Bool) async throws(SluiceClientError) -> ClusterMetadata {
        // Join a refresh under way if it asks for everything this one would.
        if let refreshing, refreshingTopics == nil || (!allTopics && topicsOfInterest.isSubset(of: refreshingTopics ?? [])) {
            return try await Self.value(of: refreshing)
        }
        let names: [TopicName]? = allTopics ? nil : topicsOfInterest.sorted()
        let request = MetadataRequest(
            topics: names.map { $0.map { MetadataRequest.MetadataRequestTopic(name: $0.rawValue) } },
            allowAutoTopicCreation: configuration.allowAutoTopicCreation)
        // Shared by concurrent callers like a connect (see `connection(to:)`).
        let task = Task { () async throws -> ClusterMetadata in
            ClusterMetadata(try await self.sendToAny(request, maxVersion: 8))
        }
        refreshing = task
        refreshingTopics = names.map(Set.init)
        defer { if refreshing == task { refreshing = nil } }
        let fresh = try await Self.value(of: task)
        let missing = (names ?? []).filter { fresh.topics[$0] == nil }
        let now = ContinuousClock.now
        let (merged, kept) = cached.merging(
            fresh, forgetting: missing, keepingUnmentioned: !allTopics,
            acceptingOlderEpochs: olderEpochAnswers.overdue(at: now, patience: configuration.metadataMaxAge))
        cached = merged
        olderEpochAnswers.record(kept: kept, at: now)
        if allTopics { cachedHasAllTopics = true }
        cachedAt = .now
        return cached
    }

    /// Marks the cached metadata stale: the next read refreshes it.
    func invalidateMetadata() {
        cachedAt = nil
    }

    /// The leader of `partition`, refreshing the metadata once if it has none or is unaware of
    /// the topic. Throws ``SluiceClientError/unknownTopic(_:)``,
    /// ``SluiceClientError/unknownPartition(_:partitionCount:)``, or LEADER_NOT_AVAILABLE.
    func leader(of partition: TopicPartition) async throws(SluiceClientError) -> NodeID {
        var metadata = try await metadata(topics: [partition.topic], refresh: false)
        if metadata.leader(of: partition) == nil {
            metadata = try await self.metadata(topics: [partition.topic], refresh: true)
        }
        guard let topic = metadata.topics[partition.topic] else { throw .unknownTopic(partition.topic) }
        guard topic.partitions.contains(where: { $0.index == partition.partition }) else {
            throw .unknownPartition(partition, partitionCount: topic.partitions.count)
        }
        guard let leader = metadata.leader(of: partition) else {
            throw .server(.leaderNotAvailable, api: .metadata, resource: "\(partition)", message: nil)
        }
        return leader
    }

    // MARK: coordinators

    /// The group coordinator (FindCoordinator), cached until ``forgetCoordinator(forGroup:)``.
    func coordinator(forGroup group: String) async throws(SluiceClientError) -> NodeID {
        if let known = coordinators[group] { return known }
        let response = try await sendToAny(FindCoordinatorRequest(key: group, keyType: 0), maxVersion: 2)
        if let error = SluiceClientError.serverIfError(response.errorCode, api: .findCoordinator,
                                                       resource: "group \(group)", message: response.errorMessage) {
            throw error
        }
        extraAddresses[response.nodeID] = BrokerAddress(host: response.host, port: Int(response.port))
        coordinators[group] = response.nodeID
        return response.nodeID
    }

    /// Forgets `group`'s coordinator (after NOT_COORDINATOR and the like).
    func forgetCoordinator(forGroup group: String) {
        coordinators[group] = nil
    }

    // MARK: closing

    /// Closes every connection; later calls fail with ``SluiceClientError/closed``.
    func close() async {
        isClosed = true
        for task in connecting.values { task.cancel() }
        let open = Array(connections.values)
        connections = [:]
        for connection in open { await connection.close() }
    }

    // MARK: errors

    static func clientError(_ error: any Error) -> SluiceClientError {
        if let error = error as? SluiceClientError { return error }
        if error is CancellationError { return .closed }
        return .connectionFailed(address: "?", reason: "\(error)")
    }

    private static func value<T: Sendable>(of task: Task<T, any Error>) async throws(SluiceClientError) -> T {
        do {
            return try await task.value
        } catch {
            throw clientError(error)
        }
    }
}
