import NIOCore
import SluiceCore
import Testing

@testable import SluiceClient

/// Helpers for group tests: node settings and waiting for an assignment to settle.
enum GroupFixture {
    static let nodeConfig = "\n[groups]\ninitial_rebalance_delay_ms = 100\n"

    static func options(_ group: String, assignor: String) -> ConsumerOptions {
        var options = ConsumerOptions(groupID: group)
        options.assignors = assignor == "range" ? [RangeAssignor()] : [CooperativeStickyAssignor()]
        options.sessionTimeout = .seconds(6)
        options.heartbeatInterval = .milliseconds(300)
        options.rebalanceTimeout = .seconds(10)
        options.autoOffsetReset = .earliest
        return options
    }

    /// Waits until `consumers` own `partitions` between them with no overlap and each holds
    /// `sizes` (sorted) partitions; returns each consumer's assignment.
    @discardableResult
    static func settle(_ consumers: [Consumer], cover partitions: Set<TopicPartition>, sizes: [Int],
                       timeout: Duration = .seconds(40)) async throws -> [[TopicPartition]] {
        let deadline = ContinuousClock.now + timeout
        var last: [[TopicPartition]] = []
        while ContinuousClock.now < deadline {
            last = []
            for consumer in consumers { last.append(await consumer.assignment()) }
            let all = last.flatMap { $0 }
            if all.count == Set(all).count, Set(all) == partitions, last.map(\.count).sorted() == sizes {
                return last
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("assignment did not settle to \(sizes): \(last)")
    }
}

@Suite("Consumer groups of Swift consumers against a real node", .serialized)
struct GroupConsumerTests {
    typealias G = GroupFixture
    typealias F = ConsumerFixture

    @Test(arguments: ["range", "cooperative-sticky"])
    func membersShareSixPartitionsAndRebalanceOnJoinAndLeave(assignor: String) async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let admin = try await cluster.client()
            let topic = try uniqueTopic()
            try await admin.admin.createTopic(topic, partitionCount: 6)
            let all = Set((0..<6).map { TopicPartition(topic, PartitionIndex(Int32($0))) })
            // One client per member, as separate processes would have.
            var clients: [SluiceClient] = []
            var consumers: [Consumer] = []
            for _ in 0..<3 {
                let client = try await cluster.client()
                clients.append(client)
                consumers.append(client.makeConsumer(G.options("g-\(assignor)", assignor: assignor)))
            }
            try await consumers[0].subscribe(to: [topic])
            try await consumers[1].subscribe(to: [topic])
            try await G.settle(Array(consumers[0...1]), cover: all, sizes: [3, 3])
            let before = await consumers[0].assignment()

            try await consumers[2].subscribe(to: [topic])
            let three = try await G.settle(consumers, cover: all, sizes: [2, 2, 2])
            if assignor == "cooperative-sticky" {
                #expect(Set(three[0]).isSubset(of: Set(before)), "a sticky member keeps what it can")
            }

            await consumers[1].close()
            try await G.settle([consumers[0], consumers[2]], cover: all, sizes: [3, 3])
            await consumers[0].close()
            await consumers[2].close()
            for client in clients { await client.close() }
            await admin.close()
        }
    }

    @Test func aRestartedMemberResumesRightAfterItsLastCommit() async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            try await F.produce(client, topic, partition: 0, values: (0..<30).map { "r\($0)" })
            var options = G.options("resume", assignor: "range")
            options.commitPolicy = .manual

            let first = client.makeConsumer(options)
            try await first.subscribe(to: [topic])
            let firstTwenty = try await F.take(20, from: first)
            #expect(F.values(firstTwenty) == (0..<20).map { "r\($0)" })
            try await first.commit()
            _ = try await F.take(5, from: first)  // read but never committed
            await first.close()

            let second = client.makeConsumer(options)
            try await second.subscribe(to: [topic])
            let rest = try await F.take(10, from: second)
            #expect(F.values(rest) == (20..<30).map { "r\($0)" })
            #expect(try await second.committed([TopicPartition(topic, 0)]) == [TopicPartition(topic, 0): 20])
            await second.close()
            await client.close()
        }
    }

    @Test func membersConsumingTogetherReadEveryRecordOnceAndCommitOnLeave() async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 4)
            for partition in 0..<4 {
                try await F.produce(client, topic, partition: Int32(partition), values: (0..<10).map { "p\(partition)-\($0)" })
            }
            var options = G.options("together", assignor: "cooperative-sticky")
            options.commitPolicy = .afterEachBatch
            let a = client.makeConsumer(options)
            let bClient = try await cluster.client()
            let b = bClient.makeConsumer(options)
            try await a.subscribe(to: [topic])
            try await b.subscribe(to: [topic])
            let all = Set((0..<4).map { TopicPartition(topic, PartitionIndex(Int32($0))) })
            try await G.settle([a, b], cover: all, sizes: [2, 2])
            async let fromA = F.take(20, from: a)
            async let fromB = F.take(20, from: b)
            let values = try await F.values(fromA + fromB)
            #expect(values.count == 40)
            #expect(Set(values).count == 40)
            await a.close()
            await b.close()
            let committed = try await client.makeConsumer(options).committed(all.sorted())
            #expect(committed == Dictionary(uniqueKeysWithValues: all.map { ($0, Offset(10)) }))
            await bClient.close()
            await client.close()
        }
    }

    @Test func aSimpleConsumerCommitsWithoutJoining() async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            try await F.produce(client, topic, partition: 0, values: (0..<6).map { "s\($0)" })
            let partition = TopicPartition(topic, 0)
            var options = ConsumerOptions(groupID: "simple")
            options.commitPolicy = .manual
            let consumer = client.makeConsumer(options)
            try await consumer.assign([partition], from: .earliest)
            _ = try await F.take(4, from: consumer)
            try await consumer.commit()
            await consumer.close()
            let again = client.makeConsumer(options)
            try await again.assign([partition], from: .committed)
            #expect(F.values(try await F.take(2, from: again)) == ["s4", "s5"])
            await again.close()
            await client.close()
        }
    }

    @Test func adminListsAndDescribesTheGroupWithAssignmentsAndLag() async throws {
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 2)
            try await F.produce(client, topic, partition: 0, values: (0..<8).map { "a\($0)" })
            try await F.produce(client, topic, partition: 1, values: (0..<5).map { "b\($0)" })
            var options = G.options("described", assignor: "range")
            options.commitPolicy = .manual
            let consumer = client.makeConsumer(options)
            try await consumer.subscribe(to: [topic])
            let all = Set([TopicPartition(topic, 0), TopicPartition(topic, 1)])
            try await G.settle([consumer], cover: all, sizes: [2])
            try await consumer.commit([TopicPartition(topic, 0): 3, TopicPartition(topic, 1): 5])

            #expect(try await client.admin.listGroups().contains(ConsumerGroupListing(groupID: "described", protocolType: "consumer")))
            let description = try await client.admin.describeGroup("described")
            #expect(description.state == "Stable")
            #expect(description.protocolType == "consumer")
            #expect(description.protocolName == "range")
            #expect(description.members.count == 1)
            #expect(description.members.first?.assignment == all.sorted())
            #expect(description.members.first?.subscribedTopics == [topic])
            #expect(description.partitions.map(\.lag) == [5, 0])
            #expect(description.partitions.map(\.logEndOffset) == [8, 5])
            #expect(description.totalLag == 5)
            #expect(description.partitions.allSatisfy { $0.memberID == description.members.first?.memberID })

            await consumer.close()
            let empty = try await client.admin.describeGroup("described")
            #expect(empty.state == "Empty")
            #expect(empty.members.isEmpty)
            #expect(empty.partitions.map(\.committedOffset) == [3, 5])
            await client.close()
        }
    }
}
