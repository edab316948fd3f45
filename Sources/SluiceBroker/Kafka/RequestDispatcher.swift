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
    let findCoordinator: FindCoordinatorHandler

    init(services: BrokerServices) {
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
        findCoordinator = FindCoordinatorHandler()
        apiVersions = ApiVersionsHandler(advertised: Self.advertised)
    }

    /// The versions ApiVersions advertises: exactly those the handlers declare, in key order.
    static let advertised: [(key: KafkaAPIKey, versions: ClosedRange<Int16>)] = [
        (.produce, ProduceHandler.versions),
        (.fetch, FetchHandler.versions),
        (.listOffsets, ListOffsetsHandler.versions),
        (.metadata, MetadataHandler.versions),
        (.findCoordinator, FindCoordinatorHandler.versions),
        (.apiVersions, ApiVersionsHandler.versions),
        (.createTopics, CreateTopicsHandler.versions),
        (.deleteTopics, DeleteTopicsHandler.versions),
        (.initProducerID, InitProducerIdHandler.versions),
        (.offsetForLeaderEpoch, OffsetForLeaderEpochHandler.versions),
        (.describeConfigs, DescribeConfigsHandler.versions),
        (.createPartitions, CreatePartitionsHandler.versions),
    ]

    func dispatch(frame: ByteBuffer, logger: Logger) async -> Outcome {
        let decoded: DecodedRequest
        do throws(RequestDecodingError) {
            decoded = try RequestDecoder.decode(frame: frame)
        } catch {
            if case .unsupportedVersion(let header, _) = error, header.apiKey == KafkaAPIKey.apiVersions.rawValue {
                return .respond(SupportedAPIs.apiVersionsFallback(correlationID: header.correlationID))
            }
            return .close(reason: error.description)
        }
        let context = RequestContext(header: decoded.header, logger: logger)
        switch decoded.request {
        case .apiVersions(let r): return await run(apiVersions, r, context)
        case .metadata(let r): return await run(metadata, r, context)
        case .produce(let r): return await run(produce, r, context)
        case .fetch(let r): return await run(fetch, r, context)
        case .listOffsets(let r): return await run(listOffsets, r, context)
        case .offsetForLeaderEpoch(let r): return await run(offsetForLeaderEpoch, r, context)
        case .createTopics(let r): return await run(createTopics, r, context)
        case .deleteTopics(let r): return await run(deleteTopics, r, context)
        case .createPartitions(let r): return await run(createPartitions, r, context)
        case .initProducerID(let r): return await run(initProducerID, r, context)
        case .describeConfigs(let r): return await run(describeConfigs, r, context)
        case .findCoordinator(let r): return await run(findCoordinator, r, context)
        default:
            return .close(reason: "API key \(decoded.header.apiKey) is not served by this node (\(decoded.header))")
        }
    }

    private func run<Handler: KafkaAPIHandler>(_ handler: Handler, _ request: Handler.Request,
                                               _ context: RequestContext) async -> Outcome {
        guard Handler.versions.contains(context.version) else {
            return .close(reason: "version \(context.version) of \(Handler.Request.self) is not served (\(Handler.versions))")
        }
        guard let response = await handler.handle(request, context) else { return .noResponse }
        return .respond(ResponseEncoder.encode(response, answering: context.header))
    }
}
