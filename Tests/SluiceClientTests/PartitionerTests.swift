import Foundation
import NIOCore
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceRecords

/// Priority records (header "priority") go to partition 0; the rest spread over the others by key.
struct PriorityPartitioner: Partitioner {
    func partition(for record: ProducerRecord, partitionCount: Int) -> PartitionIndex {
        if record.headers.contains(where: { $0.key == "priority" }) || partitionCount == 1 { return 0 }
        let rest = Partitioning.keyHash(record.key, hasher: .murmur2, partitionCount: partitionCount - 1)
        return PartitionIndex(rest.rawValue + 1)
    }
}

/// Returns an index outside the topic.
struct OutOfRangePartitioner: Partitioner {
    func partition(for record: ProducerRecord, partitionCount: Int) -> PartitionIndex {
        PartitionIndex(Int32(partitionCount))
    }
}

@Suite("Partitioning without a node")
struct PartitionChooserTests {
    let topic = TopicName(rawValue: "orders")
    let other = TopicName(rawValue: "events")

    @Test func balancedIsRoundRobinPerTopic() throws {
        let chooser = PartitionChooser()
        let (topic, other) = (try #require(topic), try #require(other))
        let first = try (0..<7).map { _ in
            try chooser.partition(for: ProducerRecord(topic: topic, key: nil, value: "x"), default: .balanced, partitionCount: 3)
        }
        let second = try chooser.partition(for: ProducerRecord(topic: other, key: nil, value: "x"), default: .balanced,
                                           partitionCount: 3)
        #expect(first.map(\.rawValue) == [0, 1, 2, 0, 1, 2, 0])
        #expect(second == 0)
    }

    @Test func murmur2MatchesKafkaTestVectors() throws {
        // apache/kafka UtilsTest.testMurmur2 and librdkafka's unit test (CLIENTS.md §3).
        let vectors: [(String, Int32)] = [("21", -973932308), ("foobar", -790332482), ("abc", 479470107),
                                          ("a-little-bit-long-string", -985981536)]
        for (key, hash) in vectors {
            let expected = PartitionIndex((hash & 0x7fff_ffff) % 7)
            #expect(Partitioning.keyHash(Array(key.utf8), hasher: .murmur2, partitionCount: 7) == expected, "key \(key)")
        }
        // librdkafka 0048-partitioner: crc32("23456") = 0xb1b451d7.
        #expect(Partitioning.keyHash(Array("23456".utf8), hasher: .crc32, partitionCount: 10)
                == PartitionIndex(Int32(0xb1b4_51d7 as UInt32 % 10)))
    }

    @Test func perRecordPartitioningOverridesTheProducerDefault() throws {
        let chooser = PartitionChooser()
        let topic = try #require(topic)
        let record = ProducerRecord(topic: topic, key: "k", value: "v", partitioning: .partition(4))
        #expect(try chooser.partition(for: record, default: .partition(1), partitionCount: 5) == 4)
    }

    @Test func nullKeyUnderKeyPartitioningIsBalanced() throws {
        let chooser = PartitionChooser()
        let topic = try #require(topic)
        let picks = try (0..<4).map { _ in
            try chooser.partition(for: ProducerRecord(topic: topic, key: nil, value: "v"), default: .key(nil), partitionCount: 2)
        }
        #expect(picks.map(\.rawValue) == [0, 1, 0, 1])
    }

    @Test func aPartitionOutsideTheTopicIsAClearError() throws {
        let chooser = PartitionChooser()
        let topic = try #require(topic)
        for partitioning in [Partitioning.partition(9), .custom(OutOfRangePartitioner())] {
            #expect(throws: SluiceClientError.self) {
                try chooser.partition(for: ProducerRecord(topic: topic, key: nil, value: "v"), default: partitioning,
                                      partitionCount: 3)
            }
        }
    }
}

@Suite("Partitioning against a real node", .serialized)
struct PartitionerNodeTests {
    static let keys = (0..<60).map { "key-\($0)" }

    /// Partitions for `keys` among `count`, computed by kafka-python's murmur2 and zlib's crc32
    /// (librdkafka's consistent partitioner), off the cooperative pool.
    static func referencePartitions(count: Int) async throws -> (murmur2: [Int], crc32: [Int]) {
        let script = """
            import json, sys, zlib
            from kafka.partitioner.default import murmur2
            keys = json.loads(sys.stdin.read())
            print(json.dumps([[(murmur2(k.encode()) & 0x7fffffff) % \(count) for k in keys],
                              [zlib.crc32(k.encode()) % \(count) for k in keys]]))
            """
        let input = String(decoding: try JSONEncoder().encode(keys), as: UTF8.self)
        let (status, output) = try await runTool("/usr/bin/env", ["python3", "-c", script], input: input)
        guard status == 0 else { throw HarnessError("python3 failed: \(output)") }
        let lists = try JSONDecoder().decode([[Int]].self, from: Data(output.utf8))
        return (lists[0], lists[1])
    }

    @Test func everyModePutsRecordsWhereItSays() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let (murmur2, crc32) = try await Self.referencePartitions(count: 5)
            let cases: [(String, Partitioning, (Int) -> Int?)] = [
                ("murmur2", .recordKey(.murmur2), { murmur2[$0] }),
                ("crc32", .recordKey(.crc32), { crc32[$0] }),
                ("murmur3", .recordKey(.murmur3), {
                    Int(Partitioning.keyHash(Array(Self.keys[$0].utf8), hasher: .murmur3, partitionCount: 5).rawValue) }),
                ("xxhash32", .recordKey(.xxHash32), {
                    Int(Partitioning.keyHash(Array(Self.keys[$0].utf8), hasher: .xxHash32, partitionCount: 5).rawValue) }),
                ("fixed", .partition(3), { _ in 3 }),
                ("balanced", .balanced, { $0 % 5 }),
            ]
            for (name, partitioning, expected) in cases {
                let topic = try uniqueTopic(name)
                try await client.admin.createTopic(topic, partitionCount: 5)
                let producer = client.makeProducer(.init(partitioning: partitioning))
                for (index, key) in Self.keys.enumerated() {
                    let sent = try await producer.send(ProducerRecord(topic: topic, key: key, value: "\(index)"))
                    #expect(Int(sent.partition.rawValue) == expected(index), "\(name): \(key)")
                }
                try await producer.close()
                try await expectPlacement(client, topic, name: name, expected: expected)
            }
            await client.close()
        }
    }

    @Test func customPartitionerAndExplicitKeysRouteByTheirRule() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic("custom")
            try await client.admin.createTopic(topic, partitionCount: 4)
            let producer = client.makeProducer(.init(partitioning: .custom(PriorityPartitioner())))
            var sentTo: [String: PartitionIndex] = [:]
            for index in 0..<40 {
                let priority = index % 5 == 0
                let record = ProducerRecord(topic: topic, key: "user-\(index)", value: "\(index)",
                                            headers: priority ? [RecordHeader(key: "priority", value: [1])] : [])
                sentTo["\(index)"] = try await producer.send(record).partition
            }
            // A per-record `.key` hashes the given bytes, not the record key.
            let explicit = try await producer.send(ProducerRecord(topic: topic, key: "ignored", value: "explicit",
                                                                  partitioning: .key("tenant-9", hasher: .crc32)))
            #expect(explicit.partition == Partitioning.keyHash(Array("tenant-9".utf8), hasher: .crc32, partitionCount: 4))
            try await producer.close()
            let priority = try await PartitionReader.readAll(client, TopicPartition(topic, 0))
            #expect(Set(PartitionReader.values(priority).filter { $0 != "explicit" })
                    == Set((0..<40).filter { $0 % 5 == 0 }.map { "\($0)" }))
            #expect(sentTo.filter { (Int($0.key) ?? 0) % 5 != 0 }.allSatisfy { $0.value != 0 })
            await client.close()
        }
    }

    private func expectPlacement(_ client: SluiceClient, _ topic: TopicName, name: String,
                                 expected: (Int) -> Int?) async throws {
        var found = 0
        for partition in 0..<5 {
            let records = try await PartitionReader.readAll(client, TopicPartition(topic, PartitionIndex(Int32(partition))))
            for value in PartitionReader.values(records) {
                let index = try #require(Int(value))
                #expect(expected(index) == partition, "\(name): record \(index) read back from partition \(partition)")
                found += 1
            }
        }
        #expect(found == Self.keys.count, "\(name)")
    }
}
