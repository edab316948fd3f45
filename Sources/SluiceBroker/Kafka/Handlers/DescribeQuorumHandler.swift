import SluiceCore
import SluiceWire

/// DescribeQuorum (key 55, flexible from v0; KIP-595/836): the metadata Raft quorum, presented
/// as Kafka presents its KRaft log, topic `__cluster_metadata` partition 0. Leader epoch is the
/// Raft term, high watermark the Raft commit index, a voter's log end offset its match index.
/// Only the leader knows the voters' positions, so any other node answers the partition with
/// NOT_LEADER_OR_FOLLOWER, as Kafka does. Sluice keeps no fetch times: v1's timestamps are -1.
struct DescribeQuorumHandler: KafkaAPIHandler {
    typealias Request = DescribeQuorumRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    /// Kafka's name for the metadata log, which clients ask for by name.
    static let metadataTopic = "__cluster_metadata"

    func handle(_ request: DescribeQuorumRequest, _ context: RequestContext) async -> DescribeQuorumResponse? {
        let status = await services.raftQuorum()
        let topics = request.topics.map { topic in
            DescribeQuorumResponse.TopicData(
                topicName: topic.topicName,
                partitions: topic.partitions.map { Self.answer(topic: topic.topicName, partition: $0.partitionIndex, status) })
        }
        return DescribeQuorumResponse(topics: topics)
    }

    static func answer(topic: String, partition: PartitionIndex, _ status: RaftQuorumStatus?)
        -> DescribeQuorumResponse.TopicData.PartitionData
    {
        guard topic == metadataTopic, partition.rawValue == 0 else {
            return .init(partitionIndex: partition, errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue,
                         leaderID: .none, leaderEpoch: -1, highWatermark: -1)
        }
        guard let status, status.isLeader else {
            return .init(partitionIndex: partition, errorCode: KafkaErrorCode.notLeaderOrFollower.rawValue,
                         leaderID: status?.leader ?? .none, leaderEpoch: clamped(status?.term.rawValue ?? 0),
                         highWatermark: -1)
        }
        return .init(
            partitionIndex: partition, errorCode: KafkaErrorCode.none.rawValue, leaderID: status.leader ?? .none,
            leaderEpoch: clamped(status.term.rawValue), highWatermark: Int64(clamping: status.raftCommitIndex.rawValue),
            currentVoters: status.voters.map {
                .init(replicaID: $0.id, logEndOffset: $0.matchIndex.map { Int64(clamping: $0.rawValue) } ?? -1)
            },
            observers: status.learners.map {
                .init(replicaID: $0.id, logEndOffset: $0.matchIndex.map { Int64(clamping: $0.rawValue) } ?? -1)
            })
    }

    private static func clamped(_ term: UInt64) -> Int32 { Int32(clamping: term) }
}
