import SluiceCore
import SluiceWire

/// DeleteRecords (key 21), answered by each partition's leader: moves the log start forward and
/// answers once every in-sync replica's has followed (the low watermark), REQUEST_TIMED_OUT if
/// they do not within the request's timeout. v0-1 (v2 is flexible).
struct DeleteRecordsHandler: KafkaAPIHandler {
    typealias Request = DeleteRecordsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    func handle(_ request: DeleteRecordsRequest, _ context: RequestContext) async -> DeleteRecordsResponse? {
        // One deadline for every partition's wait for its followers (bounded, like a produce's).
        let deadline = ContinuousClock.now + .milliseconds(Int64(min(max(0, request.timeoutMs), Self.timeoutMsMax)))
        var topics: [DeleteRecordsResponse.DeleteRecordsTopicResult] = []
        for topic in request.topics {
            var partitions: [DeleteRecordsResponse.DeleteRecordsTopicResult.DeleteRecordsPartitionResult] = []
            for p in topic.partitions {
                let (code, lowWatermark) = await deleteRecords(topic.name, p.partitionIndex, before: p.offset, deadline: deadline)
                partitions.append(.init(partitionIndex: p.partitionIndex, lowWatermark: lowWatermark, errorCode: code.rawValue))
            }
            topics.append(.init(name: topic.name, partitions: partitions))
        }
        return DeleteRecordsResponse(topics: topics)
    }

    /// The longest wait a request may ask for.
    static let timeoutMsMax: Int32 = 60_000

    private func deleteRecords(_ topic: String, _ partition: PartitionIndex, before offset: Offset,
                               deadline: ContinuousClock.Instant) async -> (KafkaErrorCode, Offset) {
        switch await services.localReplica(topic: topic, partition: partition) {
        case .found(let replica): return await replica.deleteRecords(before: offset, deadline: deadline)
        case .refused(let code): return (code, .unknown)
        }
    }
}
