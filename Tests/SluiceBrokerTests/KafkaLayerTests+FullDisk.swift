import Foundation
@testable import SluiceBroker
import SluiceCore
import SluiceRecords
import SluiceStorage
import SluiceWire
import Testing

extension KafkaLayerTests {
    /// The data directory on a 2 MiB tmpfs: producing until it is full gets KAFKA_STORAGE_ERROR
    /// for the partition (not a hang, a crash or a false success), everything acknowledged
    /// before reads back, and once space is freed the next produce succeeds at the log end,
    /// without a restart.
    @Test(.enabled(if: TmpfsMount.isPermitted, "mounting a tmpfs needs root (CAP_SYS_ADMIN)"))
    func aFullDiskAnswersKafkaStorageErrorAndProducesSucceedAgainOnceSpaceIsFreed() async throws {
        let mount = try TmpfsMount(bytes: 2 << 20)
        try await TestBroker.withBroker(dataDirectory: mount.path) { broker in
            let connection = try RawKafkaConnection(port: broker.port)
            #expect(try createTopic(connection, "full", partitions: 1) == 0)
            do {
                let filler = try RealFileSystem().open(mount.path + "/filler", create: true)
                try filler.write([UInt8](repeating: 1, count: 256 * 1024), at: 0)
                filler.close()
            }
            let value = String(repeating: "x", count: 2000)
            var acknowledged: Int64 = 0
            var failure: Int16 = 0
            for _ in 0..<100 {
                let response = try produce(connection, topic: "full", partition: 0, batch(Array(repeating: value, count: 20)))
                if response.errorCode != 0 {
                    failure = response.errorCode
                    break
                }
                #expect(response.baseOffset == Offset(acknowledged))
                acknowledged += 20
            }
            #expect(failure == KafkaErrorCode.kafkaStorageError.rawValue)
            #expect(acknowledged > 0)
            // The same batch again (a smaller one might still fit in the file's last page).
            let again = try produce(connection, topic: "full", partition: 0, batch(Array(repeating: value, count: 20)))
            #expect(again.errorCode == KafkaErrorCode.kafkaStorageError.rawValue)
            #expect(try latestOffset(connection, "full") == acknowledged, "the log end never counted a failed batch")
            #expect(try fetchedRecordCount(connection, "full", upTo: acknowledged) == acknowledged)

            try RealFileSystem().remove(mount.path + "/filler")
            let recovered = try produce(connection, topic: "full", partition: 0, batch(["space again"]))
            #expect(recovered.errorCode == 0 && recovered.baseOffset == Offset(acknowledged))
            #expect(try latestOffset(connection, "full") == acknowledged + 1)
        }
    }

    func latestOffset(_ connection: RawKafkaConnection, _ topic: String) throws -> Int64 {
        let list = ListOffsetsRequest(replicaID: .none, topics: [.init(name: topic, partitions: [.init(partitionIndex: 0, timestamp: -1)])])
        return try connection.call(list, version: 5).topics[0].partitions[0].offset.rawValue
    }

    /// Records of partition 0 read from offset 0 to `end`, each batch checked as a consumer would.
    func fetchedRecordCount(_ connection: RawKafkaConnection, _ topic: String, upTo end: Int64) throws -> Int64 {
        var offset: Int64 = 0
        var count: Int64 = 0
        while offset < end {
            let fetch = FetchRequest(replicaID: .none, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [
                .init(topic: topic, partitions: [.init(partition: 0, fetchOffset: Offset(offset), partitionMaxBytes: 512 * 1024)])])
            let fetched = try connection.call(fetch, version: 11).responses[0].partitions[0]
            try #require(fetched.errorCode == 0)
            var splitter = RecordBatchSplitter(try #require(fetched.records), trailingBytes: .allowPartialTrailingBatch)
            var progressed = false
            while let batch = try splitter.next() {
                count += Int64(batch.recordsCount)
                offset = batch.nextOffset.rawValue
                progressed = true
            }
            try #require(progressed)
        }
        return count
    }
}
