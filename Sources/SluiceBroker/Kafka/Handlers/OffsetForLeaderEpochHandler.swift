import SluiceCore
import SluiceWire

/// OffsetForLeaderEpoch (key 23): where a leader epoch ends in this replica's log, so a
/// follower or a consumer that saw an older leader can truncate or reset correctly (KIP-101/320).
struct OffsetForLeaderEpochHandler: KafkaAPIHandler {
    typealias Request = OffsetForLeaderEpochRequest
    static let versions: ClosedRange<Int16> = 0...3
    let services: BrokerServices

    func handle(_ request: OffsetForLeaderEpochRequest, _ context: RequestContext) async -> OffsetForLeaderEpochResponse? {
        var topics: [OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult] = []
        for topic in request.topics {
            var partitions: [OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.EpochEndOffset] = []
            for p in topic.partitions {
                var answer = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.EpochEndOffset(
                    errorCode: 0, partition: p.partition, leaderEpoch: .unknown, endOffset: .unknown)
                defer { partitions.append(answer) }
                let replica: PartitionReplica
                switch await services.localReplica(topic: topic.topic, partition: p.partition) {
                case .found(let local): replica = local
                case .refused(let code):
                    answer.errorCode = code.rawValue
                    continue
                }
                let (code, epoch, end) = await replica.endOffset(
                    forEpoch: p.leaderEpoch, currentLeaderEpoch: context.version >= 2 ? p.currentLeaderEpoch : .unknown)
                answer.errorCode = code.rawValue
                answer.leaderEpoch = epoch
                answer.endOffset = end
            }
            topics.append(.init(topic: topic.topic, partitions: partitions))
        }
        return OffsetForLeaderEpochResponse(topics: topics)
    }
}
