import Logging
import NIOCore
import SluiceWire

/// Decodes a request frame, hands it to the handler of its API, and encodes the answer. The
/// one place where a request becomes a response or a closed connection.
struct RequestDispatcher: Sendable {
    enum Outcome: Sendable {
        case respond(ByteBuffer)
        /// acks=0: the client expects nothing.
        case noResponse
        /// No answer is possible (garbage, unknown API, unsupported version): log and close,
        /// as Kafka does.
        case close(reason: String)
    }

    let apiVersions: ApiVersionsHandler
    let metadata: MetadataHandler
    let produce: ProduceHandler
    let fetch: FetchHandler
    let listOffsets: ListOffsetsHandler
    let offsetForLeaderEpoch: OffsetForLeaderEpochHandler
    let createTopics: CreateTopicsHandler
    let deleteTopics: DeleteTopicsHandler
    let createPartitions: CreatePartitionsHandler
    let initProducerID: InitProducerIdHandler
    let describeConfigs: DescribeConfigsHandler
    let alterConfigs: AlterConfigsHandler
    let incrementalAlterConfigs: IncrementalAlterConfigsHandler
    let electLeaders: ElectLeadersHandler
    let findCoordinator: FindCoordinatorHandler
    let joinGroup: JoinGroupHandler
    let syncGroup: SyncGroupHandler
    let heartbeat: HeartbeatHandler
    let leaveGroup: LeaveGroupHandler
    let offsetCommit: OffsetCommitHandler
    let offsetFetch: OffsetFetchHandler
    let describeGroups: DescribeGroupsHandler
    let listGroups: ListGroupsHandler
    let deleteGroups: DeleteGroupsHandler
    let offsetDelete: OffsetDeleteHandler
    let deleteRecords: DeleteRecordsHandler
    let describeLogDirs: DescribeLogDirsHandler
    let describeQuorum: DescribeQuorumHandler
    let describeCluster: DescribeClusterHandler
    let metrics: NodeMetrics

    init(services: BrokerServices) {
        metrics = services.metrics
        metadata = MetadataHandler(services: services)
        produce = ProduceHandler(services: services)
        fetch = FetchHandler(services: services)
        listOffsets = ListOffsetsHandler(services: services)
        offsetForLeaderEpoch = OffsetForLeaderEpochHandler(services: services)
        createTopics = CreateTopicsHandler(services: services)
        deleteTopics = DeleteTopicsHandler(services: services)
        createPartitions = CreatePartitionsHandler(services: services)
        initProducerID = InitProducerIdHandler(services: services)
        describeConfigs = DescribeConfigsHandler(services: services)
        alterConfigs = AlterConfigsHandler(services: services)
        incrementalAlterConfigs = IncrementalAlterConfigsHandler(services: services)
        electLeaders = ElectLeadersHandler(services: services)
        findCoordinator = FindCoordinatorHandler(services: services)
        joinGroup = JoinGroupHandler(groups: services.groups)
        syncGroup = SyncGroupHandler(groups: services.groups)
        heartbeat = HeartbeatHandler(groups: services.groups)
        leaveGroup = LeaveGroupHandler(groups: services.groups)
        offsetCommit = OffsetCommitHandler(services: services, groups: services.groups)
        offsetFetch = OffsetFetchHandler(groups: services.groups)
        describeGroups = DescribeGroupsHandler(groups: services.groups)
        listGroups = ListGroupsHandler(groups: services.groups)
        deleteGroups = DeleteGroupsHandler(groups: services.groups)
        offsetDelete = OffsetDeleteHandler(groups: services.groups)
        deleteRecords = DeleteRecordsHandler(services: services)
        describeLogDirs = DescribeLogDirsHandler(services: services)
        describeQuorum = DescribeQuorumHandler(services: services)
        describeCluster = DescribeClusterHandler(services: services)
        apiVersions = ApiVersionsHandler(advertised: Self.advertised)
    }

    /// The versions ApiVersions advertises: exactly those the handlers declare, in key order.
    static let advertised: [(key: KafkaAPIKey, versions: ClosedRange<Int16>)] = [
        (.produce, ProduceHandler.versions),
        (.fetch, FetchHandler.versions),
        (.listOffsets, ListOffsetsHandler.versions),
        (.metadata, MetadataHandler.versions),
        (.offsetCommit, OffsetCommitHandler.versions),
        (.offsetFetch, OffsetFetchHandler.versions),
        (.findCoordinator, FindCoordinatorHandler.versions),
        (.joinGroup, JoinGroupHandler.versions),
        (.heartbeat, HeartbeatHandler.versions),
        (.leaveGroup, LeaveGroupHandler.versions),
        (.syncGroup, SyncGroupHandler.versions),
        (.describeGroups, DescribeGroupsHandler.versions),
        (.listGroups, ListGroupsHandler.versions),
        (.apiVersions, ApiVersionsHandler.versions),
        (.createTopics, CreateTopicsHandler.versions),
        (.deleteTopics, DeleteTopicsHandler.versions),
        (.deleteRecords, DeleteRecordsHandler.versions),
        (.initProducerID, InitProducerIdHandler.versions),
        (.offsetForLeaderEpoch, OffsetForLeaderEpochHandler.versions),
        (.describeConfigs, DescribeConfigsHandler.versions),
        (.alterConfigs, AlterConfigsHandler.versions),
        (.describeLogDirs, DescribeLogDirsHandler.versions),
        (.createPartitions, CreatePartitionsHandler.versions),
        (.deleteGroups, DeleteGroupsHandler.versions),
        (.electLeaders, ElectLeadersHandler.versions),
        (.incrementalAlterConfigs, IncrementalAlterConfigsHandler.versions),
        (.offsetDelete, OffsetDeleteHandler.versions),
        (.describeQuorum, DescribeQuorumHandler.versions),
        (.describeCluster, DescribeClusterHandler.versions),
    ]

    /// - Parameter clientHost: the peer's address for group membership ("/127.0.0.1").
    func dispatch(frame: ByteBuffer, logger: Logger, clientHost: String = "/unknown") async -> Outcome {
        let decoded: DecodedRequest
        do throws(RequestDecodingError) {
            decoded = try RequestDecoder.decode(frame: frame)
        } catch {
            if case .unsupportedVersion(let header, _) = error, header.apiKey == KafkaAPIKey.apiVersions.rawValue {
                return .respond(SupportedAPIs.apiVersionsFallback(correlationID: header.correlationID))
            }
            return .close(reason: error.description)
        }
        let context = RequestContext(header: decoded.header, logger: logger, clientHost: clientHost)
        switch decoded.request {
        case .apiVersions(let r): return await run(apiVersions, r, context)
        case .metadata(let r): return await run(metadata, r, context)
        case .produce(let r): return await run(produce, r, context, acks: r.acks)
        case .fetch(let r): return await run(fetch, r, context)
        case .listOffsets(let r): return await run(listOffsets, r, context)
        case .offsetForLeaderEpoch(let r): return await run(offsetForLeaderEpoch, r, context)
        case .createTopics(let r): return await run(createTopics, r, context)
        case .deleteTopics(let r): return await run(deleteTopics, r, context)
        case .createPartitions(let r): return await run(createPartitions, r, context)
        case .initProducerID(let r): return await run(initProducerID, r, context)
        case .describeConfigs(let r): return await run(describeConfigs, r, context)
        case .alterConfigs(let r): return await run(alterConfigs, r, context)
        case .incrementalAlterConfigs(let r): return await run(incrementalAlterConfigs, r, context)
        case .electLeaders(let r): return await run(electLeaders, r, context)
        case .deleteRecords(let r): return await run(deleteRecords, r, context)
        case .describeLogDirs(let r): return await run(describeLogDirs, r, context)
        case .deleteGroups(let r): return await run(deleteGroups, r, context)
        case .offsetDelete(let r): return await run(offsetDelete, r, context)
        case .describeQuorum(let r): return await run(describeQuorum, r, context)
        case .describeCluster(let r): return await run(describeCluster, r, context)
        case .findCoordinator(let r): return await run(findCoordinator, r, context)
        case .joinGroup(let r): return await run(joinGroup, r, context)
        case .syncGroup(let r): return await run(syncGroup, r, context)
        case .heartbeat(let r): return await run(heartbeat, r, context)
        case .leaveGroup(let r): return await run(leaveGroup, r, context)
        case .offsetCommit(let r): return await run(offsetCommit, r, context)
        case .offsetFetch(let r): return await run(offsetFetch, r, context)
        case .describeGroups(let r): return await run(describeGroups, r, context)
        case .listGroups(let r): return await run(listGroups, r, context)
        }
    }

    /// Runs the handler and counts the request, its latency (decoded to answered) and the
    /// error codes of its answer (`/metrics`).
    private func run<Handler: KafkaAPIHandler>(_ handler: Handler, _ request: Handler.Request,
                                               _ context: RequestContext, acks: Int16? = nil) async -> Outcome {
        guard Handler.versions.contains(context.version) else {
            return .close(reason: "version \(context.version) of \(Handler.Request.self) is not served (\(Handler.versions))")
        }
        let started = ContinuousClock.now
        let response = await handler.handle(request, context)
        let api = context.header.apiKey
        metrics.requestHandled(api: api, duration: ContinuousClock.now - started, acks: acks)
        guard let response else { return .noResponse }
        if let reporting = response as? any ErrorCodeReporting {
            let codes = reporting.errorCodes
            if !codes.isEmpty { metrics.requestErrors(api: api, codes: codes) }
        }
        return .respond(ResponseEncoder.encode(response, answering: context.header))
    }
}
