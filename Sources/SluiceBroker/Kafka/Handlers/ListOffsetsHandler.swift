import SluiceCore
import SluiceWire

/// ListOffsets (key 2): earliest (-2), latest (-1, the high watermark) or the first offset at or
/// after a timestamp. v0 answers in `oldStyleOffsets`.
struct ListOffsetsHandler: KafkaAPIHandler {
    typealias Request = ListOffsetsRequest
    static let versions: ClosedRange<Int16> = 0...5
    let services: BrokerServices

    func handle(_ request: ListOffsetsRequest, _ context: RequestContext) async -> ListOffsetsResponse? {
        var topics: [ListOffsetsResponse.ListOffsetsTopicResponse] = []
        for topic in request.topics {
            var partitions: [ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse] = []
            for p in topic.partitions {
                var answer = ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse(
                    partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: .unknown, leaderEpoch: .unknown)
                let replica: PartitionReplica
                switch await services.localReplica(topic: topic.name, partition: p.partitionIndex) {
                case .found(let local): replica = local
                case .refused(let code):
                    answer.errorCode = code.rawValue
                    partitions.append(answer)
                    continue
                }
                let (code, offset, timestamp) = await replica.offset(
                    forTimestamp: p.timestamp, currentLeaderEpoch: context.version >= 4 ? p.currentLeaderEpoch : .unknown)
                answer.errorCode = code.rawValue
                answer.offset = offset
                answer.timestamp = timestamp
                answer.leaderEpoch = await replica.state.leaderEpoch
                if context.version == 0 { answer.oldStyleOffsets = offset == .unknown ? [] : [offset] }
                partitions.append(answer)
            }
            topics.append(.init(name: topic.name, partitions: partitions))
        }
        return ListOffsetsResponse(topics: topics)
    }
}
