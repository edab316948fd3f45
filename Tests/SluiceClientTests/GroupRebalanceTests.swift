import SluiceCore
import Synchronization
import Testing

@testable import SluiceClient

/// What consuming members collected, shared with the test body.
private final class Collected: Sendable {
    let values = Mutex<[String]>([])
    func append(_ value: String) { values.withLock { $0.append(value) } }
    var count: Int { values.withLock { $0.count } }
    var snapshot: [String] { values.withLock { $0 } }
}

@Suite("Consumer groups rebalancing while consuming, against a real node", .serialized)
struct GroupRebalanceTests {
    typealias G = GroupFixture
    typealias F = ConsumerFixture

    /// Reads `consumer` until it is closed, a few milliseconds per record so a rebalance
    /// happens mid-stream.
    private static func drain(_ consumer: Consumer, into collected: Collected) async throws {
        for try await record in consumer {
            collected.append(record.valueString ?? "")
            try await Task.sleep(for: .milliseconds(3))
        }
    }

    @Test(arguments: ["range", "cooperative-sticky"])
    func aMemberJoiningAndOneLeavingMidStreamLoseAndRepeatNothing(assignor: String) async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let admin = try await cluster.client()
            let topic = try uniqueTopic()
            try await admin.admin.createTopic(topic, partitionCount: 6)
            for partition in 0..<6 {
                try await F.produce(admin, topic, partition: Int32(partition), values: (0..<100).map { "p\(partition)-\($0)" })
            }
            var options = G.options("stream-\(assignor)", assignor: assignor)
            options.commitPolicy = .afterEachBatch
            options.prefetchRecordsMax = 20
            var clients: [SluiceClient] = []
            var consumers: [Consumer] = []
            for _ in 0..<3 {
                let client = try await cluster.client()
                clients.append(client)
                consumers.append(client.makeConsumer(options))
            }
            let collected = Collected()
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await consumers[0].subscribe(to: [topic])
                try await consumers[1].subscribe(to: [topic])
                for consumer in consumers { group.addTask { try await Self.drain(consumer, into: collected) } }
                try await Self.waitUntil { collected.count >= 100 }
                try await consumers[2].subscribe(to: [topic])  // joins mid-stream
                try await Self.waitUntil { collected.count >= 300 }
                await consumers[0].close()  // leaves mid-stream
                try await Self.waitUntil { Set(collected.snapshot).count >= 600 }
                for consumer in consumers { await consumer.close() }
                try await group.waitForAll()
            }
            let values = collected.snapshot
            #expect(Set(values).count == 600, "every record was read")
            #expect(values.count == 600, "no record was read twice: \(values.count - Set(values).count) repeats")
            for client in clients { await client.close() }
            await admin.close()
        }
    }

    private static func waitUntil(timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw HarnessError("condition not met within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
