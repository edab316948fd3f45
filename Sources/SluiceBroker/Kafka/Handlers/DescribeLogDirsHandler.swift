import Foundation
import SluiceCore
import SluiceWire

/// DescribeLogDirs (key 35): this node's one log directory and the size in bytes of each local
/// replica's segments. v1 only: v0 is gone from Kafka 4's specs and v2+ is flexible. Admin
/// clients ask every broker in turn, so each node answers for itself.
struct DescribeLogDirsHandler: KafkaAPIHandler {
    typealias Request = DescribeLogDirsRequest
    static let versions: ClosedRange<Int16> = 1...1
    let services: BrokerServices

    func handle(_ request: DescribeLogDirsRequest, _ context: RequestContext) async -> DescribeLogDirsResponse? {
        let local = await services.partitions.allReplicas
        // nil asks for every local replica; named partitions this node does not hold are left out, as in Kafka.
        let wanted = request.topics.map { topics in
            Set(topics.flatMap { t in t.partitions.compactMap { p in TopicName(rawValue: t.topic).map { TopicPartition($0, p) } } })
        }
        var byTopic: [TopicName: [DescribeLogDirsResponse.DescribeLogDirsResult.DescribeLogDirsTopic.DescribeLogDirsPartition]] = [:]
        for (partition, replica) in local.sorted(by: { $0.key < $1.key }) where wanted?.contains(partition) ?? true {
            let log = replica.log
            // Kafka's lag of a current (not future) log: how far its HW is past its log end, at least 0.
            let lag = max(0, await log.logEndOffset.distance(to: await log.highWatermark))
            byTopic[partition.topic, default: []].append(
                .init(partitionIndex: partition.partition, partitionSize: await log.sizeInBytes, offsetLag: lag, isFutureKey: false))
        }
        let topics = byTopic.keys.sorted().map { DescribeLogDirsResponse.DescribeLogDirsResult.DescribeLogDirsTopic(name: $0.rawValue, partitions: byTopic[$0]!) }
        return DescribeLogDirsResponse(results: [.init(errorCode: 0, logDir: logDirectory, topics: topics)])
    }

    /// The absolute path of the partition directories' parent, as Kafka names a log dir.
    private var logDirectory: String {
        let data = services.config.node.dataDirectory
        let absolute = data.hasPrefix("/") ? data : FileManager.default.currentDirectoryPath + "/" + data
        return URL(fileURLWithPath: absolute).appendingPathComponent("topics").standardized.path
    }
}
