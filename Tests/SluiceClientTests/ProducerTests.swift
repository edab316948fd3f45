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
}
