import SluiceCore
import SluiceWire

/// DeleteRecords (key 21), answered by each partition's leader: moves the log start (the low
/// watermark) forward; followers follow through replication. v0-1 (v2 is flexible).
struct DeleteRecordsHandler: KafkaAPIHandler {
    typealias Request = DeleteRecordsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    func handle(_ request: DeleteRecordsRequest, _ context: RequestContext) async -> DeleteRecordsResponse? {
        var topics: [DeleteRecordsResponse.DeleteRecordsTopicResult] = []
        for topic in request.topics {
            var partitions: [DeleteRecordsResponse.DeleteRecordsTopicResult.DeleteRecordsPartitionResult] = []
            for p in topic.partitions {
                let (code, lowWatermark) = await deleteRecords(topic.name, p.partitionIndex, before: p.offset)
                partitions.append(.init(partitionIndex: p.partitionIndex, lowWatermark: lowWatermark, errorCode: code.rawValue))
            }
            topics.append(.init(name: topic.name, partitions: partitions))
        }
        return DeleteRecordsResponse(topics: topics)
    }

    private func deleteRecords(_ topic: String, _ partition: PartitionIndex, before offset: Offset) async -> (KafkaErrorCode, Offset) {
        switch await services.localReplica(topic: topic, partition: partition) {
        case .found(let replica): return await replica.deleteRecords(before: offset)
        case .refused(let code): return (code, .unknown)
        }
    }
}
