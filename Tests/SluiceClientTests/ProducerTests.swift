import NIOCore
import Synchronization
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceRecords

@Suite("Producer against real nodes", .serialized)
struct ProducerTests {
    @Test func sendReturnsPartitionAndOffsetAndRecordsReadBackInOrder() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 3)
            let producer = client.makeProducer(.init(partitioning: .partition(1)))
            var offsets: [Offset] = []
            for index in 0..<10 {
                let sent = try await producer.send(ProducerRecord(topic: topic, key: "k", value: "v\(index)"))
                #expect(sent.partition == 1)
                #expect(sent.topic == topic)
                offsets.append(sent.offset)
            }
            #expect(offsets == (0..<10).map { Offset(Int64($0)) })
            try await producer.close()
            let records = try await PartitionReader.readAll(client, TopicPartition(topic, 1))
            #expect(PartitionReader.values(records) == (0..<10).map { "v\($0)" })
            await client.close()
        }
    }

    @Test(arguments: [CompressionCodec.none, .lz4, .gzip])
    func manyRecordsWithoutAwaitingEachArriveOncePerPartitionInOrder(codec: CompressionCodec) async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 3)
            var options = ProducerOptions(compression: codec)
            options.batchBytes = 16 * 1024
            let producer = client.makeProducer(options)
            let count = 3000
            for index in 0..<count {
                try await producer.sendAndForget(ProducerRecord(topic: topic, key: "key-\(index % 7)", value: "\(index)"))
            }
            try await producer.flush()
            var total = 0
            for partition in 0..<3 {
                let records = try await PartitionReader.readAll(client, TopicPartition(topic, PartitionIndex(Int32(partition))))
                let values = PartitionReader.values(records).compactMap { Int($0) }
                #expect(values == values.sorted(), "partition \(partition) is out of order")
                total += values.count
            }
            #expect(total == count)
            try await producer.close()
            await client.close()
        }
    }

    @Test func headersTimestampsAndEveryAcksSettingRoundTrip() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            let headers = [RecordHeader(key: "trace", value: [1, 2, 3]), RecordHeader(key: "empty", value: nil as [UInt8]?)]
            for (index, acks) in [ProducerOptions.Acks.all, .leader, .none].enumerated() {
                let producer = client.makeProducer(.init(acks: acks))
                let sent = try await producer.send(ProducerRecord(topic: topic, key: "k", value: "acks\(index)",
                                                                  headers: headers, timestamp: RecordTimestamp(1_700_000_000_000 + Int64(index))))
                #expect(sent.offset == (acks == .none ? .unknown : Offset(Int64(index))))
                #expect(sent.timestamp == RecordTimestamp(1_700_000_000_000 + Int64(index)))
                try await producer.close()
            }
            let records = try await PartitionReader.readAll(client, TopicPartition(topic, 0))
            #expect(PartitionReader.values(records) == ["acks0", "acks1", "acks2"])
            #expect(records.allSatisfy { $0.headers == headers })
            #expect(records.map(\.timestamp.rawValue) == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002])
            await client.close()
        }
    }

    @Test func badInputIsAClearErrorAndTheProducerKeepsWorking() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 2)
            var options = ProducerOptions()
            options.recordBytesMax = 64 * 1024
            let producer = client.makeProducer(options)
            let missing = try uniqueTopic("missing")
            do throws(SluiceClientError) {
                _ = try await producer.send(ProducerRecord(topic: missing, key: nil, value: "x"))
                Issue.record("sent to a topic that does not exist")
            } catch {
                guard case .unknownTopic(let name) = error else { throw error }
                #expect(name == missing)
                #expect(error.description.contains("does not exist"))
            }
            do throws(SluiceClientError) {
                _ = try await producer.send(ProducerRecord(topic: topic, key: nil, value: ByteBuffer(repeating: 0, count: 100_000)))
                Issue.record("an oversized record was accepted")
            } catch {
                guard case .recordTooLarge(let bytes, let bytesMax) = error else { throw error }
                #expect(bytes > 100_000 && bytesMax == 64 * 1024)
            }
            do throws(SluiceClientError) {
                _ = try await producer.send(ProducerRecord(topic: topic, key: nil, value: "x", partitioning: .partition(7)))
                Issue.record("sent to a partition the topic does not have")
            } catch {
                guard case .unknownPartition(_, let count) = error else { throw error }
                #expect(count == 2)
            }
            #expect(try await producer.send(ProducerRecord(topic: topic, key: nil, value: "fine")).offset == 0)
            try await producer.close()
            do throws(SluiceClientError) {
                _ = try await producer.send(ProducerRecord(topic: topic, key: nil, value: "late"))
                Issue.record("a closed producer sent")
            } catch {
                guard case .closed = error else { throw error }
            }
            await client.close()
        }
    }

    @Test func aSmallBufferAppliesBackPressureWithoutLosingRecords() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 1)
            var options = ProducerOptions()
            options.bufferMemoryBytes = 32 * 1024
            options.recordBytesMax = 4 * 1024
            options.batchBytes = 8 * 1024
            let producer = client.makeProducer(options)
            let payload = ByteBuffer(repeating: 0x62, count: 1000)
            // 2 MB through a 32 KB buffer: sends wait for acknowledgements to free room.
            for _ in 0..<2000 { try await producer.sendAndForget(ProducerRecord(topic: topic, key: nil, value: payload)) }
            try await producer.close()
            let description = try await client.admin.describeTopic(topic)
            #expect(description.recordCount == 2000)
            await client.close()
        }
    }
}
