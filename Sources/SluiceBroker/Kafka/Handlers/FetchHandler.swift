import NIOCore
import SluiceCore
import SluiceWire

/// Fetch (key 1) for consumers: committed batches from each requested partition, waiting up
/// to `maxWaitMs` for `minBytes`. Every requested partition is answered (kafka-python drops a
/// response whose partition set differs). No fetch sessions: session id 0.
/// v4+ are served; v0-3 expect the old message formats and get UNSUPPORTED_VERSION per partition.
struct FetchHandler: KafkaAPIHandler {
    typealias Request = FetchRequest
    static let versions: ClosedRange<Int16> = 0...11
    static let firstServedVersion: Int16 = 4
    /// Longest a fetch may wait, whatever it asks (bounds held connections).
    static let waitMax: Duration = .seconds(30)
    let services: BrokerServices

    func handle(_ request: FetchRequest, _ context: RequestContext) async -> FetchResponse? {
        // Followers fetch on the inter-node listener, where their node identity is checked
        // (ReplicaFetchRPC); a replica id on the client listener is someone posing as one.
        if request.replicaID.rawValue >= 0 {
            return FetchResponse(errorCode: KafkaErrorCode.clusterAuthorizationFailed.rawValue, sessionID: 0, responses: [])
        }
        let clock = ContinuousClock()
        let deadline = clock.now + min(.milliseconds(max(0, Int64(request.maxWaitMs))), Self.waitMax)
        while true {
            let seen = services.partitions.signal.generation
            let response = await readOnce(request, context)
            let bytes = response.responses.reduce(0) { $0 + $1.partitions.reduce(0) { $0 + ($1.records?.readableBytes ?? 0) } }
            let failed = response.responses.contains { $0.partitions.contains { $0.errorCode != 0 } }
            if bytes >= Int(max(1, request.minBytes)) || failed || clock.now >= deadline || Task.isCancelled {
                return response
            }
            await services.partitions.signal.wait(after: seen, timeout: deadline - clock.now)
        }
    }

    private func readOnce(_ request: FetchRequest, _ context: RequestContext) async -> FetchResponse {
        var remaining = Int(max(0, request.maxBytes == 0 ? Int32.max : request.maxBytes))
        var topics: [FetchResponse.FetchableTopicResponse] = []
        for topic in request.topics {
            var partitions: [FetchResponse.FetchableTopicResponse.PartitionData] = []
            for p in topic.partitions {
                // Records are never null: Kafka sends empty records for a partition with no data,
                // and kafka-python fails on null.
                var data = FetchResponse.FetchableTopicResponse.PartitionData(
                    partitionIndex: p.partition, errorCode: 0, highWatermark: .unknown, lastStableOffset: .unknown,
                    logStartOffset: .unknown, preferredReadReplica: .none, records: ByteBuffer())
                defer { partitions.append(data) }
                guard context.version >= Self.firstServedVersion else {
                    data.errorCode = KafkaErrorCode.unsupportedVersion.rawValue
                    continue
                }
                let replica: PartitionReplica
                switch await services.localReplica(topic: topic.topic, partition: p.partition) {
                case .found(let local): replica = local
                case .refused(let code):
                    data.errorCode = code.rawValue
                    continue
                }
                let limit = min(Int(max(0, p.partitionMaxBytes)), remaining)
                // KIP-74: the first partition with data returns at least one whole batch.
                let outcome = await replica.read(from: p.fetchOffset, maxBytes: limit,
                                                 minOneBatch: remaining == Int(max(0, request.maxBytes == 0 ? Int32.max : request.maxBytes)),
                                                 currentLeaderEpoch: context.version >= 9 ? p.currentLeaderEpoch : .unknown)
                data.errorCode = outcome.errorCode.rawValue
                data.highWatermark = outcome.highWatermark
                data.lastStableOffset = outcome.highWatermark
                data.logStartOffset = outcome.logStartOffset
                data.records = outcome.records ?? ByteBuffer()
                remaining -= min(remaining, outcome.records?.readableBytes ?? 0)
            }
            topics.append(.init(topic: topic.topic, partitions: partitions))
        }
        return FetchResponse(errorCode: 0, sessionID: 0, responses: topics)
    }
}
