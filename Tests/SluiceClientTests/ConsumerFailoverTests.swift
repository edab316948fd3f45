import SluiceCore
import Synchronization
import Testing

@testable import SluiceClient

/// Sluice serves replication factor 1 for now, so a partition is readable again once its
/// node restarts; these tests SIGKILL a node, restart it on the same addresses, and check that
/// the consumer finds its way back (new connections, refreshed metadata, a new coordinator).
@Suite("Consumers across node failures in a 3-node cluster", .serialized)
struct ConsumerFailoverTests {
    typealias G = GroupFixture
    typealias F = ConsumerFixture

    @Test func anAssignedConsumerContinuesAfterItsPartitionsNodeRestarts() async throws {
        try await TestCluster.with(nodes: 3, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            try await F.produce(client, topic, partition: 0, values: (0..<50).map { "r\($0)" })
            let partition = TopicPartition(topic, 0)
            let consumer = client.makeConsumer()
            try await consumer.assign([partition], from: .earliest)
            #expect(F.values(try await F.take(20, from: consumer)) == (0..<20).map { "r\($0)" })

            let leader = try #require(try await client.metadata(refresh: true).leader(of: partition))
            let node = try cluster.node(leader)
            try await node.kill()
            try node.start()
            try await node.waitReady()
            let rest = try await F.take(30, from: consumer, timeout: .seconds(60))
            #expect(F.values(rest) == (20..<50).map { "r\($0)" })
            await consumer.close()
            await client.close()
        }
    }

    @Test func aGroupFindsTheNewCoordinatorWhenTheControllerDiesAndKeepsItsProgress() async throws {
        // The controller is every group's coordinator; killing it moves the coordinator.
        try await TestCluster.with(nodes: 3, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 3)
            for partition in 0..<3 {
                try await F.produce(client, topic, partition: Int32(partition), values: (0..<40).map { "p\(partition)-\($0)" })
            }
            var options = G.options("failover", assignor: "range")
            options.commitPolicy = .afterEachBatch
            options.sessionTimeout = .seconds(20)  // a new coordinator gives members a fresh session
            let consumer = client.makeConsumer(options)
            try await consumer.subscribe(to: [topic])
            var values = F.values(try await F.take(60, from: consumer))
            let progress = try await consumer.committed((0..<3).map { TopicPartition(topic, PartitionIndex(Int32($0))) })

            let controller = try #require(try await client.metadata(refresh: true).controllerID)
            let node = try cluster.node(controller)
            try await node.kill()
            // The coordinator moves before the node comes back (once back, it may lead again).
            var successor: NodeID? = nil
            for _ in 0..<100 where successor == nil {
                if let id = try? await client.metadata(refresh: true).controllerID, id != controller { successor = id }
                else { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(successor != nil, "another node became controller (the coordinator moved)")
            try node.start()
            try await node.waitReady()
            values += F.values(try await F.take(60, from: consumer, timeout: .seconds(90)))
            #expect(Set(values).count == 120, "every record read after the controller died")
            try await consumer.commit()
            let after = try await consumer.committed((0..<3).map { TopicPartition(topic, PartitionIndex(Int32($0))) })
            #expect(after.values.reduce(0) { $0 + $1.rawValue } == 120)
            for (partition, offset) in progress { #expect((after[partition] ?? -1) >= offset, "no offset moved back") }
            await consumer.close()
            await client.close()
        }
    }
}
