import NIOCore
import SluiceCore
import SluiceRecords
import Testing

@testable import SluiceClient

/// Test helpers for consumers.
enum ConsumerFixture {
    /// The next `count` records of `consumer`, failing after `timeout`.
    static func take(_ count: Int, from consumer: Consumer, timeout: Duration = .seconds(30)) async throws -> [ConsumerRecord] {
        try await withThrowingTaskGroup(of: [ConsumerRecord]?.self) { group in
            group.addTask {
                var records: [ConsumerRecord] = []
                for try await record in consumer {
                    records.append(record)
                    if records.count == count { break }
                }
                return records
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let records = first else {
                throw HarnessError("fewer than \(count) records within \(timeout)")
            }
            return records
        }
    }

    /// Sends `values` to one partition in one lz4 batch (records inside a compressed batch).
    static func produce(_ client: SluiceClient, _ topic: TopicName, partition: Int32, values: [String],
                        timestamps: [Int64]? = nil) async throws {
        var options = ProducerOptions(partitioning: .partition(PartitionIndex(partition)), compression: .lz4)
        options.linger = .milliseconds(50)
        let producer = client.makeProducer(options)
        for (index, value) in values.enumerated() {
            let timestamp = timestamps.map { RecordTimestamp($0[index]) }
            try await producer.sendAndForget(ProducerRecord(topic: topic, key: "k\(index)", value: value, timestamp: timestamp))
        }
        try await producer.close()
    }

    static func values(_ records: [ConsumerRecord]) -> [String] { records.map { $0.valueString ?? "" } }
}

@Suite("Consumer on assigned partitions against a real node", .serialized)
struct ConsumerTests {
    typealias F = ConsumerFixture

    @Test func readsAssignedPartitionsFromEarliestInOrder() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 2)
            try await F.produce(client, topic, partition: 0, values: (0..<40).map { "a\($0)" })
            try await F.produce(client, topic, partition: 1, values: (0..<25).map { "b\($0)" })
            let consumer = client.makeConsumer()
            try await consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)], from: .earliest)
            let records = try await F.take(65, from: consumer)
            let first = records.filter { $0.partition == 0 }
            let second = records.filter { $0.partition == 1 }
            #expect(F.values(first) == (0..<40).map { "a\($0)" })
            #expect(F.values(second) == (0..<25).map { "b\($0)" })
            #expect(first.map(\.offset) == (0..<40).map { Offset(Int64($0)) })
            #expect(first.first?.keyBytes == Array("k0".utf8))
            await consumer.close()
            await client.close()
        }
    }

    @Test func startsInsideACompressedBatchAtTheRequestedOffsetAndSeeks() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            try await F.produce(client, topic, partition: 0, values: (0..<20).map { "v\($0)" })
            let partition = TopicPartition(topic, 0)
            let consumer = client.makeConsumer()
            try await consumer.assign([partition], from: .offset(7))
            #expect(try await consumer.position(partition) == 7)
            let records = try await F.take(13, from: consumer)
            #expect(records.map(\.offset) == (7..<20).map { Offset(Int64($0)) })
            #expect(try await consumer.position(partition) == 20)
            try await consumer.seek(partition, to: .earliest)
            #expect(F.values(try await F.take(3, from: consumer)) == ["v0", "v1", "v2"])
            await consumer.close()
            await client.close()
        }
    }

    @Test func fromLatestReadsOnlyRecordsWrittenAfterwards() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            try await F.produce(client, topic, partition: 0, values: ["old0", "old1", "old2"])
            let partition = TopicPartition(topic, 0)
            let consumer = client.makeConsumer()
            try await consumer.assign([partition], from: .latest)
            #expect(try await consumer.position(partition) == 3)
            try await F.produce(client, topic, partition: 0, values: ["new0", "new1"])
            #expect(F.values(try await F.take(2, from: consumer)) == ["new0", "new1"])
            await consumer.close()
            await client.close()
        }
    }

    @Test func fromATimestampStartsAtTheFirstRecordAtOrAfterIt() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            let base: Int64 = 1_700_000_000_000
            try await F.produce(client, topic, partition: 0, values: (0..<10).map { "t\($0)" },
                                timestamps: (0..<10).map { base + Int64($0) * 1000 })
            let partition = TopicPartition(topic, 0)
            let consumer = client.makeConsumer()
            try await consumer.assign([partition], from: .timestamp(base + 5500))
            let records = try await F.take(4, from: consumer)
            #expect(F.values(records) == ["t6", "t7", "t8", "t9"])
            #expect(records.first?.timestamp == RecordTimestamp(base + 6000))
            try await consumer.seek(partition, to: .timestamp(base + 60_000))
            #expect(try await consumer.position(partition) == 10)
            await consumer.close()
            await client.close()
        }
    }

    @Test func optionsAndCallsThatCannotWorkAreRefusedWithASentence() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            let consumer = client.makeConsumer()
            await #expect(throws: SluiceClientError.self) { try await consumer.subscribe(to: [topic]) }
            await #expect(throws: SluiceClientError.self) { try await consumer.seek(TopicPartition(topic, 0), to: .earliest) }
            var bad = ConsumerOptions(groupID: "g")
            bad.heartbeatInterval = .seconds(60)
            let refused = client.makeConsumer(bad)
            await #expect(throws: SluiceClientError.self) { try await refused.subscribe(to: [topic]) }
            await consumer.close()
            await client.close()
        }
    }
}
