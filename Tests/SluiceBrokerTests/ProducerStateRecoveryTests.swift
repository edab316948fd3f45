import Foundation
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceRecords
import SluiceWire
import Testing

extension KafkaLayerTests {
    func logEnd(_ connection: RawKafkaConnection, topic: String) throws -> Int64 {
        let request = ListOffsetsRequest(replicaID: .none, topics: [.init(name: topic, partitions: [.init(partitionIndex: 0, timestamp: -1)])])
        return try connection.call(request, version: 5).topics[0].partitions[0].offset.rawValue
    }

    /// The idempotent-producer state survives a restart: it is rebuilt from the log's batch
    /// headers, so a batch retried after the node comes back is not appended twice.
    @Test func idempotentRetriesAfterARestartGetTheirOriginalOffsets() async throws {
        let directory = NSTemporaryDirectory() + "sluice-producer-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var producer = ProducerID.none
        try await TestBroker.withBroker(dataDirectory: directory) { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "idem", partitions: 1) == 0)
            let pid = try connection.call(InitProducerIdRequest(transactionalID: nil, transactionTimeoutMs: -1), version: 1)
            #expect(pid.errorCode == 0 && pid.producerID.rawValue >= 0)
            producer = pid.producerID
            for i in 0..<3 {
                let sent = try produce(connection, topic: "idem", partition: 0, batch(["\(i)a", "\(i)b"], producerID: producer, sequence: Int32(i * 2)))
                #expect(sent.errorCode == 0 && sent.baseOffset == Offset(Int64(i * 2)))
            }
            #expect(try logEnd(connection, topic: "idem") == 6)
        }
        // Metadata is in memory in TestBroker, so the second broker creates the topic again, under
        // a new topic id, which would (rightly) set the old files aside. Without the topic-id
        // file the log is taken as it is, as logs written before topic ids were.
        try FileManager.default.removeItem(atPath: directory + "/topics/idem-0/partition.metadata")
        try await TestBroker.withBroker(dataDirectory: directory) { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            // The topic comes back on its old log files.
            #expect(try createTopic(connection, "idem", partitions: 1) == 0)
            #expect(try logEnd(connection, topic: "idem") == 6, "the log was reopened, not recreated")
            let last = try produce(connection, topic: "idem", partition: 0, batch(["2a", "2b"], producerID: producer, sequence: 4))
            #expect(last.errorCode == 0 && last.baseOffset == 4, "the retried last batch gets its original offset")
            let earlier = try produce(connection, topic: "idem", partition: 0, batch(["1a", "1b"], producerID: producer, sequence: 2))
            #expect(earlier.errorCode == 0 && earlier.baseOffset == 2)
            #expect(try logEnd(connection, topic: "idem") == 6, "duplicates are not appended")
            let gap = try produce(connection, topic: "idem", partition: 0, batch(["z"], producerID: producer, sequence: 9))
            #expect(gap.errorCode == KafkaErrorCode.outOfOrderSequenceNumber.rawValue)
            let next = try produce(connection, topic: "idem", partition: 0, batch(["3a"], producerID: producer, sequence: 6))
            #expect(next.errorCode == 0 && next.baseOffset == 6, "the next sequence continues where the log left off")
            #expect(try logEnd(connection, topic: "idem") == 7)
        }
    }
}
