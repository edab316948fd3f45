import Foundation
import Logging
import NIOPosix
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceStorage
import Testing

/// A restarted node replays metadata written before it died. The fault harness caught a torn
/// restarted leader answering its old followers as leader of its old epoch, and they cut
/// acknowledged records. The partition manager takes no role until the controller has
/// registered this process's incarnation.
@Suite struct PartitionManagerRegistrationTests {
    static let before = KafkaUUID(high: 1, low: 1)
    static let now = KafkaUUID(high: 2, low: 2)

    static func image(registering incarnation: KafkaUUID, leader: NodeID, epoch: LeaderEpoch, index: UInt64) throws -> MetadataImage {
        var image = MetadataImage.empty
        let topicID = KafkaUUID(high: 9, low: 9)
        let endpoint = BrokerEndpoint(host: "127.0.0.1", port: 1)
        var records: [MetadataRecord] = [
            .registerBroker(RegisterBrokerRecord(nodeID: 1, incarnation: incarnation, clientEndpoint: endpoint, interNodeEndpoint: endpoint)),
            .topic(TopicRecord(name: TopicName(rawValue: "t")!, topicID: topicID)),
            .partition(PartitionRecord(topicID: topicID, partition: 0, replicas: [1, 2], isr: leader == 1 ? [1, 2] : [2],
                                       leader: leader, leaderEpoch: epoch)),
        ]
        records += [.registerBroker(RegisterBrokerRecord(nodeID: 2, incarnation: before, clientEndpoint: endpoint, interNodeEndpoint: endpoint))]
        _ = image.applyCommitted(MetadataRecordBatch(records), index: RaftIndex(index), term: 1)
        return image
    }

    @Test func noRoleIsTakenFromMetadataOfAnEarlierIncarnation() async throws {
        let directory = NSTemporaryDirectory() + "sluice-registration-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let logs = LogManager(fileSystem: RealFileSystem(), dataDirectory: directory, defaultConfig: LogConfig(), ioThreads: 1, now: now)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let partitions = PartitionManager(nodeID: 1, incarnation: Self.now, logs: logs, defaultLogConfig: LogConfig(),
                                          settings: .init(fetcher: .init(nodeID: 1)), isrChanges: NoISRChanges(),
                                          group: MultiThreadedEventLoopGroup.singleton, nowMs: now, logger: logger)
        let partition = TopicPartition(TopicName(rawValue: "t")!, 0)

        // Replayed: this node led at epoch 3 in its previous life.
        await partitions.reconcile(with: try Self.image(registering: Self.before, leader: 1, epoch: 3, index: 10))
        #expect(await partitions.replica(partition) == nil, "a replica was opened from an earlier incarnation's metadata")
        #expect(partitions.reconciledThrough == RaftIndex(0), "the node must not count as caught up")

        // The controller registered this process and moved the leadership away.
        await partitions.reconcile(with: try Self.image(registering: Self.now, leader: 2, epoch: 4, index: 11))
        let replica = try #require(await partitions.replica(partition))
        let state = await replica.state
        #expect(state.leader == 2 && state.leaderEpoch == 4, "it follows the current leader")
        #expect(partitions.reconciledThrough == RaftIndex(11))
        await replica.close()
        await logs.closeAll()
    }
}
