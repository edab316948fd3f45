import NIOCore
@testable import SluiceClient
import SluiceCore
import SluiceRecords
import SluiceWire

/// Reads back what a partition holds with raw Fetch requests through a client's
/// `ClusterClient` (to the partition's current leader), for tests that check where records
/// went and in which order.
enum PartitionReader {
    /// Every record of `partition` from offset 0 to its high watermark, in offset order.
    static func readAll(_ client: SluiceClient, _ partition: TopicPartition,
                        timeout: Duration = .seconds(30)) async throws -> [Record] {
        let deadline = ContinuousClock.now + timeout
        var records: [Record] = []
        var offset = Offset.zero
        while true {
            let leader = try await client.cluster.leader(of: partition)
            let request = FetchRequest(
                replicaID: NodeID(-1), maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 0,
                topics: [.init(topic: partition.topic.rawValue,
                               partitions: [.init(partition: partition.partition, fetchOffset: offset,
                                                  partitionMaxBytes: 8 << 20)])])
            let response = try await client.cluster.send(request, to: leader, maxVersion: 11)
            guard let data = response.responses.first?.partitions.first else { throw HarnessError("empty fetch answer") }
            guard data.errorCode == 0 else {
                if ContinuousClock.now > deadline { throw HarnessError("fetch \(partition): error \(data.errorCode)") }
                await client.cluster.invalidateMetadata()
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            var splitter = RecordBatchSplitter(data.records ?? ByteBuffer(), trailingBytes: .allowPartialTrailingBatch)
            while let batch = try splitter.next() {
                for record in try batch.decodeRecords() where record.offset >= offset {
                    records.append(record)
                }
            }
            offset = records.last.map { $0.offset.advanced(by: 1) } ?? offset
            if offset >= data.highWatermark { return records }
            if ContinuousClock.now > deadline { throw HarnessError("fetch \(partition): no progress at \(offset)") }
        }
    }

    /// The values of `records` as strings.
    static func values(_ records: [Record]) -> [String] {
        records.map { $0.value.map { String(buffer: $0) } ?? "" }
    }
}

/// A topic name unique to one test.
func uniqueTopic(_ prefix: String = "t") throws -> TopicName {
    try TopicName(validating: "\(prefix)-\(UInt32.random(in: 0...UInt32.max))")
}
