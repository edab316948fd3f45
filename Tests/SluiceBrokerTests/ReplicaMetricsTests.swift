import Foundation
import Logging
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import Testing

/// What a leading replica reports to `/metrics`: follower lag, appends, ISR changes.
@Suite struct ReplicaMetricsTests {
    func batch(_ count: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: .none, producerEpoch: .none, baseSequence: ProducerSequence(-1))
        for i in 0..<count { builder.append(key: nil, value: Array("v\(i)".utf8), timestamp: RecordTimestamp(1_700_000_000_000)) }
        return try! builder.build().bytes
    }

    @Test func aLeaderReportsFollowerLagAppendsAndEachISRChangeOnce() async throws {
        let directory = NSTemporaryDirectory() + "sluice-replica-metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let logs = LogManager(fileSystem: RealFileSystem(), dataDirectory: directory, defaultConfig: LogConfig(), ioThreads: 1, now: now)
        let partition = TopicPartition(TopicName(rawValue: "lag")!, PartitionIndex(0))
        let log = try await logs.open(partition)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let metrics = NodeMetrics()
        let context = ReplicaContext(nodeID: 1, options: ReplicationOptions(), signal: AppendSignal(), isrChanges: NoISRChanges(),
                                     nowMs: now, logger: logger, metrics: metrics)
        func state(isr: [NodeID], epoch: Int32) -> PartitionState {
            PartitionState(replicas: [1, 2, 3], isr: isr, leader: 1, leaderEpoch: LeaderEpoch(0), partitionEpoch: PartitionEpoch(epoch))
        }
        let replica = PartitionReplica(partition: partition, log: log, state: PartitionState.unopened(like: state(isr: [1, 2, 3], epoch: 0)),
                                       context: context)
        _ = await replica.update(state(isr: [1, 2, 3], epoch: 0))

        let first = batch(3), second = batch(2)
        #expect(await replica.append(first, requiredAcks: 1, minInsyncReplicas: 1, timeout: .seconds(1)).errorCode == .none)
        #expect(await replica.append(second, requiredAcks: 1, minInsyncReplicas: 1, timeout: .seconds(1)).errorCode == .none)
        // Follower 2 fetches at 3 (it has the first batch); follower 3 never fetched.
        _ = await replica.serveReplicaFetch(from: 2, offset: 3, currentLeaderEpoch: LeaderEpoch(0), maxBytes: 1 << 20)
        var sample = await replica.metricsSample()
        #expect(sample.isLeader && sample.logEndOffset == 5 && sample.replicaCount == 3 && sample.isrCount == 3)
        #expect(sample.followerLag == [2: 2, 3: 5])
        #expect(sample.appended == AppendTotals(records: 5, bytes: Int64(first.readableBytes + second.readableBytes)))
        #expect(!sample.isUnderReplicated)

        // The controller takes 3 out, then puts it back; an image repeating the ISR changes nothing.
        _ = await replica.update(state(isr: [1, 2], epoch: 1))
        sample = await replica.metricsSample()
        #expect(sample.isrCount == 2 && sample.isUnderReplicated)
        _ = await replica.update(state(isr: [1, 2], epoch: 1))
        _ = await replica.update(state(isr: [1, 2, 3], epoch: 2))
        _ = await replica.update(state(isr: [1, 3], epoch: 3))
        // One out, another in: a shrink and an expansion.
        _ = await replica.update(state(isr: [1, 2], epoch: 4))
        let page = NodeMetricsTests.parse(metrics.renderCounters()).samples
        #expect(page["sluice_isr_shrinks_total"] == 3)
        #expect(page["sluice_isr_expands_total"] == 2)
        await replica.close()
        await logs.closeAll()
    }
}
