import Foundation
import Logging
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import SluiceWire
import Synchronization
import Testing

/// Bit rot in a closed segment of a partition leader, with the two replicas' actors on real
/// files and the follower's fetches carried by hand (as `ReplicaFetcher` carries them): the
/// damaged batch is never served to a consumer or a follower, the damaged replica reports itself
/// to the controller, and after the controller's change it heals from its leader.
@Suite struct DamagedReplicaTests {
    static let partition = TopicPartition(TopicName(rawValue: "t")!, 0)

    /// Records damage reports and accepts them, as the controller would with a live ISR member.
    final class ReportRecorder: ISRChangeSubmitting {
        let reports = Mutex<[DamageReport]>([])
        func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer { .rejected }
        func reportDamage(_ damage: DamageReport, for partition: TopicPartition) async -> Bool {
            reports.withLock { $0.append(damage) }
            return true
        }

        /// The reports so far, once at least one has arrived (they are sent from a task).
        func awaitReports() async throws -> [DamageReport] {
            for _ in 0..<100 where reports.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
            return reports.withLock { $0 }
        }
    }

    struct Node {
        let id: NodeID
        let replica: PartitionReplica
        let log: PartitionLogActor
        let segmentDirectory: String
    }

    static func makeNode(_ id: NodeID, in root: String, recorder: ReportRecorder) throws -> Node {
        var config = LogConfig()
        config.segmentBytes = 2048
        config.indexIntervalBytes = 256
        config.retentionMilliseconds = nil
        let directory = root + "/node\(id)/t-0"
        let executors = [IOThreadExecutor(name: "test-io-\(id)"), IOThreadExecutor(name: "test-sync-\(id)")]
        let log = try PartitionLogActor(fileSystem: RealFileSystem(), directory: directory, config: config,
                                        executor: executors[0], syncExecutor: executors[1], now: { 0 })
        var logger = Logger(label: "node\(id)")
        logger.logLevel = .critical
        let context = ReplicaContext(nodeID: id, options: ReplicationOptions(), signal: AppendSignal(), isrChanges: recorder,
                                     nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }, logger: logger)
        let unopened = PartitionState(replicas: [1, 2], isr: [1, 2], leader: .none, leaderEpoch: .unknown, partitionEpoch: 0)
        return Node(id: id, replica: PartitionReplica(partition: partition, log: log, state: unopened, context: context),
                    log: log, segmentDirectory: directory)
    }

    /// Carries the follower's requests to the leader and the answers back until the follower
    /// has the leader's whole log. Returns every records buffer the leader served.
    static func replicate(from leader: Node, to follower: Node, epoch: LeaderEpoch, _ first: FetchDirective) async throws -> [ByteBuffer] {
        var next = first.next
        var served: [ByteBuffer] = []
        for _ in 0..<1_000 {
            let directive: FetchDirective
            switch next {
            case .askEpochEndOffset(let asked):
                let (code, found, end) = await leader.replica.endOffset(forEpoch: asked, currentLeaderEpoch: epoch)
                try #require(code == .none)
                directive = await follower.replica.epochAnswered(.endOffset(epoch: found, endOffset: end), leaderEpoch: epoch)
            case .fetch(let offset):
                let outcome = await leader.replica.serveReplicaFetch(from: follower.id, offset: offset, currentLeaderEpoch: epoch,
                                                                     maxBytes: 1 << 20)
                if let records = outcome.records { served.append(records) }
                let data = FetchResponse.FetchableTopicResponse.PartitionData(
                    partitionIndex: 0, errorCode: outcome.errorCode.rawValue, highWatermark: outcome.highWatermark,
                    logStartOffset: outcome.logStartOffset, records: outcome.records)
                directive = await follower.replica.fetchAnswered(data, leaderEpoch: epoch)
                // Fetched at the leader's log end: the leader knows the follower has everything.
                if offset == (await leader.log.logEndOffset) { return served }
            case .stop, .unchanged:
                Issue.record("the follower stopped fetching")
                return served
            }
            if directive.next != .unchanged { next = directive.next }
        }
        Issue.record("the follower did not catch up")
        return served
    }

    /// Every batch in `buffer` passes the checks a consumer makes (CRC included).
    static func expectIntact(_ buffer: ByteBuffer, _ what: String) {
        var splitter = RecordBatchSplitter(buffer, trailingBytes: .rejectPartialTrailingBatch)
        do {
            while try splitter.next() != nil {}
        } catch {
            Issue.record("\(what) served a damaged batch: \(error)")
        }
    }

    static func values(_ log: PartitionLogActor) async throws -> [String] {
        var values: [String] = []
        var offset = Offset.zero
        while offset < (await log.logEndOffset) {
            var splitter = RecordBatchSplitter(try await log.read(from: offset, maxBytes: 1 << 20), trailingBytes: .rejectPartialTrailingBatch)
            while let batch = try splitter.next() {
                for record in try batch.decodeRecords() { values.append(String(buffer: record.value!)) }
                offset = batch.nextOffset
            }
        }
        return values
    }

    /// A value of the records `append` writes: record i's value.
    static func value(_ i: Int) -> String { "v\(i)-" + String(repeating: "\u{7}", count: 100) }

    static func append(_ range: Range<Int>, to leader: Node) async throws {
        for i in range {
            var builder = RecordBatchBuilder()
            builder.append(key: Array("k".utf8), value: Array(value(i).utf8), timestamp: RecordTimestamp(Int64(i)))
            let outcome = await leader.replica.append(try builder.build().bytes, requiredAcks: 1, minInsyncReplicas: 1, timeout: .seconds(5))
            #expect(outcome.errorCode == .none)
        }
    }

    /// Flips a bit inside the records of the fifth batch, in the first (closed) segment of `node`.
    static func damageFifthBatch(of node: Node) async throws {
        let batchBytes = Int64((try await node.log.read(from: 0, maxBytes: 1, minOneBatch: true)).readableBytes)
        let file = try RealFileSystem().open(node.segmentDirectory + "/00000000000000000000.log", create: false)
        defer { file.close() }
        let byte = try file.read(count: 1, at: 4 * batchBytes + 80)
        try file.write([byte[0] ^ 0x01], at: 4 * batchBytes + 80)
    }

    /// Node 1 leads epoch 1 with ISR [1, 2] and 30 records that node 2 has replicated.
    static func withReplicatedPair(_ body: (Node, Node, ReportRecorder) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "sluice-damage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let recorder = ReportRecorder()
        let one = try makeNode(1, in: root, recorder: recorder)
        let two = try makeNode(2, in: root, recorder: recorder)
        // The I/O threads are left running: a task of the replicas (a hand-off answer) may
        // still hop onto a log actor after the body returns, and a stopped executor traps.
        let first = PartitionState(replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 1, partitionEpoch: 1)
        #expect(await one.replica.update(first) == .stopFollowing)
        guard case .follow(_, _, let directive) = await two.replica.update(first) else { Issue.record("2 does not follow"); return }
        try await append(0..<30, to: one)
        for buffer in try await replicate(from: one, to: two, epoch: 1, directive) { expectIntact(buffer, "the healthy leader") }
        try await body(one, two, recorder)
    }

    @Test func aDamagedLeaderServesNoDamageHandsOffAndHealsAsAFollower() async throws {
        try await Self.withReplicatedPair { one, two, recorder in
            try await Self.damageFifthBatch(of: one)

            // A consumer reading across the damage gets what precedes it, then KAFKA_STORAGE_ERROR.
            let before = await one.replica.read(from: 0, maxBytes: 1 << 20, minOneBatch: true)
            #expect(before.errorCode == .none)
            Self.expectIntact(try #require(before.records), "a consumer read before the damage")
            let damaged = await one.replica.read(from: 4, maxBytes: 1 << 20, minOneBatch: true)
            #expect(damaged.errorCode == .kafkaStorageError && damaged.records == nil)
            // A follower fetching it gets the same answer, never the bytes.
            let fetched = await one.replica.serveReplicaFetch(from: 2, offset: 4, currentLeaderEpoch: 1, maxBytes: 1 << 20)
            #expect(fetched.errorCode == .kafkaStorageError && fetched.records == nil)
            // The leader reported itself, once, to be taken out of the ISR and replaced.
            let reports = try await recorder.awaitReports()
            #expect(reports.count == 1 && reports.first?.leaderEpoch == 1 && reports.first?.partitionEpoch == 1)
            #expect(reports.first?.reason.contains("offset 4") == true)

            // The controller moves leadership to 2 and takes 1 out of the ISR.
            let second = PartitionState(replicas: [1, 2], isr: [2], leader: 2, leaderEpoch: 2, partitionEpoch: 2)
            #expect(await two.replica.update(second) == .stopFollowing)
            guard case .follow(_, _, let healing) = await one.replica.update(second) else { Issue.record("1 does not follow"); return }
            #expect(await one.log.logEndOffset == 4, "the old leader cut its log back to the damaged batch")
            for buffer in try await Self.replicate(from: two, to: one, epoch: 2, healing) { Self.expectIntact(buffer, "the new leader") }
            let written = (0..<30).map(Self.value)
            #expect(try await Self.values(one.log) == written, "the old leader healed from the new one")
            #expect(try await Self.values(two.log) == written)
        }
    }

    /// Nobody reads a follower's closed segments; its scrub does. It leaves the ISR first, then
    /// heals at its next fetch.
    @Test func aFollowersScrubFindsDamageNobodyReadsAndTheFollowerHeals() async throws {
        try await Self.withReplicatedPair { one, two, recorder in
            try await Self.damageFifthBatch(of: two)
            await two.replica.scrub(bytesMax: 1 << 20)
            #expect(await two.replica.damage?.offset == 4)
            let reports = try await recorder.awaitReports()
            #expect(reports.count == 1 && reports.first?.partitionEpoch == 1)

            try await Self.append(30..<35, to: one)
            let more = await one.replica.serveReplicaFetch(from: 2, offset: 30, currentLeaderEpoch: 1, maxBytes: 1 << 20)
            _ = await two.replica.fetchAnswered(.init(partitionIndex: 0, highWatermark: more.highWatermark, logStartOffset: .zero,
                                                      records: more.records), leaderEpoch: 1)
            #expect(await two.log.logEndOffset > 30, "an ISR member does not cut its log before it is out of the ISR")

            // The controller takes 2 out of the ISR; its next fetch answer cuts back and it fetches again.
            let shrunk = PartitionState(replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 1, partitionEpoch: 2)
            _ = await one.replica.update(shrunk)
            #expect(await two.replica.update(shrunk) == .unchanged)
            try await Self.append(35..<36, to: one)
            let next = FetchDirective(next: .fetch(from: await two.log.logEndOffset))
            for buffer in try await Self.replicate(from: one, to: two, epoch: 1, next) {
                Self.expectIntact(buffer, "the leader")
            }
            #expect(try await Self.values(two.log) == (0..<36).map(Self.value), "the follower healed from its leader")
            #expect(await two.replica.damage == nil)
            // The next pass reads the healed log through without finding anything.
            await two.replica.scrub(bytesMax: 1 << 20)
            #expect(await two.replica.damage == nil)
        }
    }
}
