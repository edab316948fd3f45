import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceWire

/// Produce (key 0). v3+ carry RecordBatch v2 and are served; v0-2 carry the old message
/// formats and get UNSUPPORTED_FOR_MESSAGE_FORMAT per partition (they are advertised only
/// because librdkafka < 2.11.1 needs v0 in the range to enable compression; clients never send
/// them). acks=0 gets no response at all.
struct ProduceHandler: KafkaAPIHandler {
    typealias Request = ProduceRequest
    static let versions: ClosedRange<Int16> = 0...8
    static let firstServedVersion: Int16 = 3
    let services: BrokerServices

    func handle(_ request: ProduceRequest, _ context: RequestContext) async -> ProduceResponse? {
        let acks = request.acks
        var topics: [ProduceResponse.TopicProduceResponse] = []
        let image = services.metadata.current.image
        // The partitions of one request are appended and replicated side by side: with acks=all
        // each waits for its own HW, and one slow partition does not hold up the others.
        for topic in request.topicData {
            let answers = await withTaskGroup(of: (Int, ProduceResponse.TopicProduceResponse.PartitionProduceResponse).self) { group in
                for (i, data) in topic.partitionData.enumerated() {
                    group.addTask {
                        (i, await produce(topic: topic.name, data: data, acks: acks, timeoutMs: request.timeoutMs,
                                          image: image, context: context))
                    }
                }
                var answers = [ProduceResponse.TopicProduceResponse.PartitionProduceResponse?](repeating: nil, count: topic.partitionData.count)
                for await (i, answer) in group { answers[i] = answer }
                return answers.compactMap { $0 }
            }
            topics.append(.init(name: topic.name, partitionResponses: answers))
        }
        return acks == 0 ? nil : ProduceResponse(responses: topics)
    }

    private func produce(topic: String, data: ProduceRequest.TopicProduceData.PartitionProduceData, acks: Int16,
                         timeoutMs: Int32, image: MetadataImage, context: RequestContext) async
        -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse
    {
        func failure(_ code: KafkaErrorCode, _ message: String? = nil) -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse {
            .init(index: data.index, errorCode: code.rawValue, baseOffset: .unknown, errorMessage: message)
        }
        guard context.version >= Self.firstServedVersion else { return failure(.unsupportedForMessageFormat) }
        guard [0, 1, -1].contains(acks) else { return failure(.invalidRequiredAcks) }
        guard let name = TopicName(rawValue: topic) else { return failure(.invalidTopicException) }
        let partition = TopicPartition(name, data.index)
        let replica: PartitionReplica
        switch await services.localReplica(topic: topic, partition: data.index) {
        case .found(let local): replica = local
        case .refused(let code): return failure(code)
        }
        guard let records = data.records, records.readableBytes > 0 else { return failure(.corruptMessage, "no records") }
        let minInsync = image.effectiveConfig(.minInsyncReplicas, topic: name, defaults: services.topicDefaults)
            .flatMap(Int.init) ?? Int(services.config.topics.minInsyncReplicas)
        let outcome = await replica.append(records, requiredAcks: acks, minInsyncReplicas: minInsync,
                                           timeout: .milliseconds(Int64(max(0, timeoutMs))))
        if outcome.errorCode != .none {
            context.logger.debug("produce to \(partition) failed: \(outcome.errorCode) \(outcome.errorMessage ?? "")")
        }
        return .init(index: data.index, errorCode: outcome.errorCode.rawValue, baseOffset: outcome.baseOffset,
                     logStartOffset: outcome.logStartOffset, errorMessage: outcome.errorMessage)
    }
}
