import NIOCore
import Synchronization
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceRecords

/// A node dies (SIGKILL) and comes back while a producer keeps sending: nothing acknowledged
/// is lost, no key's records are reordered and none is written twice.
@Suite("Producer through node failures", .serialized)
struct ProducerFailoverTests {
    static let keys = (0..<6).map { "key\($0)" }

    /// What a run acknowledged: per key, the sequence numbers.
    final class Acknowledged: Sendable {
        let state = Mutex<(acked: [String: [Int]], failures: [String])>(([:], []))
        func record(_ key: String, _ sequence: Int, _ result: Result<RecordMetadata, SluiceClientError>) {
            state.withLock { state in
                switch result {
                case .success: state.acked[key, default: []].append(sequence)
                case .failure(let error): state.failures.append("\(key):\(sequence): \(error)")
                }
            }
        }
    }

    /// How far production got, shared with the disruption.
    final class Progress: Sendable {
        let state = Mutex<(sent: Int, sentAtDisruption: Int?, disruptionOver: Bool)>((0, nil, false))
    }

    /// Produces `perKey` records per key, running `disruption` concurrently, then checks what the
    /// topic holds.
    func produceThrough(_ cluster: TestCluster, partitions: Int32, replicationFactor: Int16 = -1, perKey: Int,
                        disruption: @escaping @Sendable (SluiceClient, TopicName) async throws -> Void) async throws {
        let client = try await cluster.client { $0.requestTimeout = .seconds(5) }
        let topic = try uniqueTopic("failover")
        try await client.admin.createTopic(topic, partitionCount: partitions, replicationFactor: replicationFactor)
        var options = ProducerOptions(compression: .lz4)
        options.deliveryTimeout = .seconds(90)
        options.linger = .milliseconds(2)
        options.batchBytes = 4096
        let producer = client.makeProducer(options)
        let acknowledged = Acknowledged()
        // Records are produced before, during and after the disruption: until it is over and
        // at least `perKey` per key went out.
        let progress = Progress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                progress.state.withLock { $0.sentAtDisruption = $0.sent }
                try await disruption(client, topic)
                progress.state.withLock { $0.disruptionOver = true }
            }
            var sequence = 0
            while sequence < perKey || !progress.state.withLock({ $0.disruptionOver }) {
                let current = sequence
                for key in Self.keys {
                    try await producer.sendAndForget(ProducerRecord(topic: topic, key: key, value: "\(key):\(current)")) {
                        acknowledged.record(key, current, $0)
                    }
                }
                progress.state.withLock { $0.sent += Self.keys.count }
                if sequence % 10 == 0 { try await Task.sleep(for: .milliseconds(15)) }
                sequence += 1
            }
            try await group.waitForAll()
        }
        let (sent, sentAtDisruption) = progress.state.withLock { ($0.sent, $0.sentAtDisruption) }
        #expect((sentAtDisruption ?? 0) > 0, "the disruption came before any record was sent")
        try await producer.flush()
        try await producer.close()

        let (acked, failures) = acknowledged.state.withLock { ($0.acked, $0.failures) }
        #expect(failures.isEmpty, "sends failed: \(failures.prefix(5))")
        var logged: [String: [Int]] = [:]
        for partition in 0..<partitions {
            let records = try await PartitionReader.readAll(client, TopicPartition(topic, PartitionIndex(partition)))
            for value in PartitionReader.values(records) {
                let parts = value.split(separator: ":")
                guard parts.count == 2, let sequence = Int(parts[1]) else { continue }
                logged[String(parts[0]), default: []].append(sequence)
            }
        }
        var duplicates = 0
        for key in Self.keys {
            let log = logged[key] ?? []
            let ackedSet = Set(acked[key] ?? [])
            #expect(ackedSet.isSubset(of: Set(log)), "\(key): acknowledged records missing")
            // First occurrences in log order must be increasing: nothing overtook an earlier record.
            var seen: Set<Int> = []
            let firsts = log.filter { seen.insert($0).inserted }
            #expect(firsts == firsts.sorted(), "\(key): records reordered")
            duplicates += log.count - firsts.count
        }
        #expect(acked.values.map(\.count).reduce(0, +) == sent)
        // Idempotence: the broker rebuilds its producer state from the log when a node restarts
        // or a partition changes leader, so retried batches are not appended twice.
        #expect(duplicates == 0, "the idempotent producer's retries were appended again")
        print("failover run: \(sent) sent (\(sentAtDisruption ?? 0) before the disruption), all acknowledged, \(duplicates) duplicates in the log")
        await client.close()
    }

    @Test func aSingleNodeRestartLosesNothingAcknowledgedAndReordersNothing() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            try await produceThrough(cluster, partitions: 2, perKey: 400) { _, _ in
                try await cluster.nodes[0].kill()
                try await Task.sleep(for: .seconds(1))
                try cluster.nodes[0].start()
                try await cluster.nodes[0].waitReady()
            }
        }
    }

    @Test func aKilledPartitionLeaderIsFollowedWhenItReturns() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            try await produceThrough(cluster, partitions: 3, perKey: 400) { client, topic in
                let leader = try await client.cluster.leader(of: TopicPartition(topic, 0))
                let node = try cluster.node(leader)
                try await node.kill()
                try await Task.sleep(for: .seconds(2))
                try node.start()
                try await node.waitReady()
            }
        }
    }

    /// Replication factor 3: the killed leader's partition moves to a follower (after its lease
    /// runs out) while it is down, and the producer follows the move with nothing lost,
    /// reordered or written twice; the node then comes back as a follower.
    @Test func aKilledLeaderIsReplacedByAFollowerWithReplicationFactor3() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            try await produceThrough(cluster, partitions: 3, replicationFactor: 3, perKey: 400) { client, topic in
                let partition = TopicPartition(topic, 0)
                let leader = try await client.cluster.leader(of: partition)
                let node = try cluster.node(leader)
                try await node.kill()
                let deadline = ContinuousClock.now + .seconds(30)
                var moved: NodeID = leader
                while moved == leader, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    moved = (try? await client.cluster.metadata(topics: [topic], refresh: true).leader(of: partition)) ?? leader
                }
                #expect(moved != leader, "no follower took over \(partition) from the killed leader \(leader)")
                try node.start()
                try await node.waitReady()
            }
        }
    }
}
