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

/// What an idempotent producer hears about batches a leader refused or already holds. The fault
/// harness found librdkafka writing records twice after a broker's OUT_OF_ORDER_SEQUENCE_NUMBER
/// for a batch that was only behind a refused one: it bumps its epoch and renumbers every
/// unacknowledged record (librdkafka issue 4953).
@Suite struct ProducerRefusalTests {
    func batch(producerID: Int64, sequence: Int32) -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: ProducerID(producerID), producerEpoch: 0, baseSequence: ProducerSequence(sequence))
        for v in ["a", "b", "c"] { builder.append(key: Array("k".utf8), value: Array(v.utf8), timestamp: RecordTimestamp(1_700_000_000_000)) }
        return try! builder.build().bytes
    }

    /// A leader (node 1) of replicas [1, 2] on real files whose follower never fetches.
    func withLeader(isr: [NodeID], _ body: (PartitionReplica, PartitionLogActor, (PartitionState) async -> Void) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "sluice-refusal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let logs = LogManager(fileSystem: RealFileSystem(), dataDirectory: directory, defaultConfig: LogConfig(), ioThreads: 1, now: now)
        let partition = TopicPartition(TopicName(rawValue: "refusal")!, PartitionIndex(0))
        let log = try await logs.open(partition)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let context = ReplicaContext(nodeID: 1, options: ReplicationOptions(), signal: AppendSignal(), isrChanges: NoISRChanges(),
                                     nowMs: now, logger: logger)
        let state = PartitionState(replicas: [1, 2], isr: isr, leader: 1, leaderEpoch: LeaderEpoch(0), partitionEpoch: PartitionEpoch(0))
        let replica = PartitionReplica(partition: partition, log: log, state: PartitionState.unopened(like: state), context: context)
        _ = await replica.update(state)
        let ticks = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                await replica.tick()
            }
        }
        defer { ticks.cancel() }
        try await body(replica, log) { _ = await replica.update($0) }
        await replica.close()
        await logs.closeAll()
    }

    /// R1 is refused (the ISR is too small); the ISR grows before R2, sent behind it, arrives.
    /// R2 gets R1's retriable error, not OUT_OF_ORDER_SEQUENCE_NUMBER; both retried in order
    /// are written once each. A real gap, with no refusal before it, is still out of order.
    @Test func batchesBehindARefusedOneGetItsRetriableError() async throws {
        try await withLeader(isr: [1]) { replica, log, update in
            let r1 = await replica.append(batch(producerID: 7, sequence: 0), requiredAcks: -1, minInsyncReplicas: 2, timeout: .seconds(1))
            #expect(r1.errorCode == .notEnoughReplicas)
            await update(PartitionState(replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: LeaderEpoch(0), partitionEpoch: PartitionEpoch(1)))
            let r2 = await replica.append(batch(producerID: 7, sequence: 3), requiredAcks: -1, minInsyncReplicas: 2, timeout: .seconds(1))
            #expect(r2.errorCode == .notEnoughReplicas, "R2 behind the refused R1: \(r2.errorCode)")
            #expect(await log.logEndOffset == Offset(0))

            let again1 = await replica.append(batch(producerID: 7, sequence: 0), requiredAcks: 1, minInsyncReplicas: 2, timeout: .seconds(1))
            let again2 = await replica.append(batch(producerID: 7, sequence: 3), requiredAcks: 1, minInsyncReplicas: 2, timeout: .seconds(1))
            #expect(again1.errorCode == .none && again1.baseOffset == Offset(0))
            #expect(again2.errorCode == .none && again2.baseOffset == Offset(3))

            let other = await replica.append(batch(producerID: 8, sequence: 0), requiredAcks: 1, minInsyncReplicas: 2, timeout: .seconds(1))
            #expect(other.errorCode == .none)
            let gap = await replica.append(batch(producerID: 8, sequence: 9), requiredAcks: 1, minInsyncReplicas: 2, timeout: .seconds(1))
            #expect(gap.errorCode == .outOfOrderSequenceNumber)
        }
    }

    /// A retry of a batch the leader holds, after the ISR shrank below min.insync.replicas, is
    /// not answered NOT_ENOUGH_REPLICAS (a client reads that as "not written" and may renumber
    /// it): it waits for the HW like the original, and times out as "possibly written".
    @Test func aRetryOfAWrittenBatchIsNotToldItWasNotWritten() async throws {
        try await withLeader(isr: [1, 2]) { replica, log, update in
            let records = batch(producerID: 7, sequence: 0)
            let first = await replica.append(records, requiredAcks: -1, minInsyncReplicas: 2, timeout: .milliseconds(200))
            #expect(first.errorCode == .requestTimedOut)
            await update(PartitionState(replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: LeaderEpoch(0), partitionEpoch: PartitionEpoch(1)))
            let retry = await replica.append(records, requiredAcks: -1, minInsyncReplicas: 2, timeout: .milliseconds(200))
            #expect([.notEnoughReplicasAfterAppend, .requestTimedOut].contains(retry.errorCode), "retry of a written batch: \(retry.errorCode)")
            #expect(await log.logEndOffset == Offset(3), "written once")
        }
    }
}
