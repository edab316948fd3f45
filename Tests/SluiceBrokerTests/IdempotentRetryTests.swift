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

/// A leader replica on real files whose follower never fetches: what `acks=all` may answer.
@Suite struct IdempotentRetryTests {
    func batch(producerID: ProducerID, sequence: Int32) -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: producerID, producerEpoch: 0, baseSequence: ProducerSequence(sequence))
        for v in ["a", "b", "c"] { builder.append(key: Array("k".utf8), value: Array(v.utf8), timestamp: RecordTimestamp(1_700_000_000_000)) }
        return try! builder.build().bytes
    }

    /// The fault harness found this: a producer whose `acks=all` request timed out sends the
    /// batch again; the retry is a duplicate of a batch still waiting for the followers, and it
    /// was answered at once as written, so the producer counted as acknowledged a batch only
    /// the leader had. A duplicate waits for the high watermark like the original.
    @Test func aRetriedBatchIsNotAcknowledgedBeforeTheFollowersHaveIt() async throws {
        let directory = NSTemporaryDirectory() + "sluice-idempotent-retry-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let logs = LogManager(fileSystem: RealFileSystem(), dataDirectory: directory, defaultConfig: LogConfig(), ioThreads: 1, now: now)
        let partition = TopicPartition(TopicName(rawValue: "retry")!, PartitionIndex(0))
        let log = try await logs.open(partition)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let context = ReplicaContext(nodeID: 1, options: ReplicationOptions(), signal: AppendSignal(), isrChanges: NoISRChanges(),
                                     nowMs: now, logger: logger)
        let state = PartitionState(replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: LeaderEpoch(0), partitionEpoch: PartitionEpoch(0))
        let replica = PartitionReplica(partition: partition, log: log, state: PartitionState.unopened(like: state), context: context)
        _ = await replica.update(state)
        // PartitionManager's tick loop, which times out produce waits.
        let ticks = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                await replica.tick()
            }
        }
        defer { ticks.cancel() }

        let records = batch(producerID: ProducerID(7), sequence: 0)
        let first = await replica.append(records, requiredAcks: -1, minInsyncReplicas: 1, timeout: .milliseconds(200))
        #expect(first.errorCode == .requestTimedOut, "follower 2 never fetched: \(first.errorCode)")
        let retry = await replica.append(records, requiredAcks: -1, minInsyncReplicas: 1, timeout: .milliseconds(200))
        #expect(retry.errorCode == .requestTimedOut, "the retry was acknowledged although follower 2 lacks the batch")
        #expect(await log.logEndOffset == Offset(3), "the retry was not appended again")
        let leaderOnly = await replica.append(records, requiredAcks: 1, minInsyncReplicas: 1, timeout: .milliseconds(200))
        #expect(leaderOnly.errorCode == .none && leaderOnly.baseOffset == Offset(0), "acks=1 gets the original offset at once")
        await replica.close()
        await logs.closeAll()
    }
}
