import Foundation
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceRecords
import SluiceWire
import Testing

/// `/metrics` of one node: after known requests, the page holds the values those requests
/// imply, worked out here from what the test sent (not read back from the broker).
@Suite(.serialized) struct NodeMetricsTests {
    func batch(_ values: [String]) -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: .none, producerEpoch: .none, baseSequence: ProducerSequence(-1))
        for v in values { builder.append(key: Array("k".utf8), value: Array(v.utf8), timestamp: RecordTimestamp(1_700_000_000_000)) }
        return try! builder.build().bytes
    }

    /// The raw client blocks in recv, so its calls run off the cooperative pool (`BlockingKafkaCalls`):
    /// blocking a pool thread here, beside another suite's, would starve the broker it waits for.
    func produce(_ connection: BlockingKafkaCalls, _ topic: String, _ partition: Int32, _ records: ByteBuffer) async throws -> Int16 {
        let request = ProduceRequest(acks: -1, timeoutMs: 5000, topicData: [
            .init(name: topic, partitionData: [.init(index: PartitionIndex(partition), records: records)])])
        return try await connection.call(request, version: 8).responses[0].partitionResponses[0].errorCode
    }

    /// The page's samples by series (`name{labels}` exactly as rendered), and its TYPE lines.
    static func parse(_ page: String) -> (samples: [String: Double], types: [String: String]) {
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        for line in page.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(types[String(parts[2])] == nil, "a second TYPE line for \(parts[2])")
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            let series = String(line[..<space])
            #expect(samples[series] == nil, "\(series) appears twice")
            samples[series] = value
        }
        return (samples, types)
    }

    @Test func pageShowsPartitionRequestAndGroupValuesAfterKnownOperations() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try BlockingKafkaCalls(port: broker.port)
            let created = try await connection.call(
                CreateTopicsRequest(topics: [.init(name: "m", numPartitions: 2, replicationFactor: 1)], timeoutMs: 5000), version: 4)
            #expect(created.topics[0].errorCode == 0)
            let batches = [(0, batch(["a", "b", "c"])), (0, batch(["d", "e"])), (1, batch(["f", "g", "h", "i"]))]
            for (partition, records) in batches { #expect(try await produce(connection, "m", Int32(partition), records) == 0) }
            // A partition the topic does not have: one UNKNOWN_TOPIC_OR_PARTITION.
            #expect(try await produce(connection, "m", 9, batch(["x"])) == KafkaErrorCode.unknownTopicOrPartition.rawValue)
            // A simple consumer's commit (no generation): group "g" at offset 2 of partition 0.
            let commit = try await connection.call(OffsetCommitRequest(groupID: "g", generationIDOrMemberEpoch: -1, memberID: "", topics: [
                .init(name: "m", partitions: [.init(partitionIndex: 0, committedOffset: 2)])]), version: 7)
            #expect(commit.topics[0].partitions[0].errorCode == 0)

            let collector = NodeMetricsCollector(nodeID: 1, metrics: broker.services.metrics, partitions: broker.services.partitions,
                                                 view: broker.services.metadata, raft: nil)
            let (samples, types) = Self.parse(await collector.render())

            let bytes0 = Double(batches[0].1.readableBytes + batches[1].1.readableBytes)
            let bytes1 = Double(batches[2].1.readableBytes)
            let p0 = #"{topic="m",partition="0"}"#
            let p1 = #"{topic="m",partition="1"}"#
            let expected: [String: Double] = [
                "sluice_partitions": 2, "sluice_partitions_led": 2, "sluice_under_replicated_partitions": 0,
                "sluice_partition_log_start_offset" + p0: 0,
                "sluice_partition_log_end_offset" + p0: 5, "sluice_partition_log_end_offset" + p1: 4,
                "sluice_partition_high_watermark" + p0: 5, "sluice_partition_high_watermark" + p1: 4,
                // The log stores batches exactly as they arrived.
                "sluice_partition_size_bytes" + p0: bytes0, "sluice_partition_size_bytes" + p1: bytes1,
                "sluice_partition_leader" + p0: 1, "sluice_partition_isr_size" + p0: 1, "sluice_partition_replicas" + p0: 1,
                "sluice_partition_under_replicated" + p0: 0,
                "sluice_partition_appended_records_total" + p0: 5, "sluice_partition_appended_records_total" + p1: 4,
                "sluice_partition_appended_bytes_total" + p0: bytes0, "sluice_partition_appended_bytes_total" + p1: bytes1,
                #"sluice_requests_total{api="Produce"}"#: 4,
                #"sluice_requests_total{api="CreateTopics"}"#: 1,
                #"sluice_requests_total{api="OffsetCommit"}"#: 1,
                #"sluice_requests_total{api="Fetch"}"#: 0,
                #"sluice_request_duration_seconds_count{api="Produce"}"#: 4,
                #"sluice_produce_duration_seconds_count{acks="-1"}"#: 4,
                #"sluice_produce_duration_seconds_count{acks="1"}"#: 0,
                #"sluice_request_errors_total{api="Produce",code="3",error="UNKNOWN_TOPIC_OR_PARTITION"}"#: 1,
                // Committed 2, HW 5.
                #"sluice_group_lag_offsets{group="g",topic="m",partition="0"}"#: 3,
                #"sluice_group_members{group="g"}"#: 0,
                #"sluice_group_state{group="g",state="Empty"}"#: 1,
                #"sluice_group_state{group="g",state="Stable"}"#: 0,
                #"sluice_metrics_series_dropped{family="partition"}"#: 0,
            ]
            for (series, value) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(samples[series] == value, "\(series)")
            }
            // No lag for a partition the group never committed.
            #expect(samples[#"sluice_group_lag_offsets{group="g",topic="m",partition="1"}"#] == nil)
            // Every Produce took some time, and fell in some bucket: the +Inf bucket holds them all.
            #expect(samples[#"sluice_request_duration_seconds_bucket{api="Produce",le="+Inf"}"#] == 4)
            #expect(types["sluice_requests_total"] == "counter")
            #expect(types["sluice_request_duration_seconds"] == "histogram")
            #expect(types["sluice_partition_log_end_offset"] == "gauge")
            #expect(types["sluice_partition_appended_records_total"] == "counter")
        }
    }

    @Test func raftPositionsAreShownAsTheDriverReportsThem() async throws {
        try await TestBroker.withBroker { broker in
            let collector = NodeMetricsCollector(
                nodeID: 1, metrics: broker.services.metrics, partitions: broker.services.partitions,
                view: broker.services.metadata,
                raft: { RaftMetricsSample(term: 7, raftCommitIndex: 41, appliedIndex: 40, isLeader: true) })
            let (samples, types) = Self.parse(await collector.render())
            #expect(samples["sluice_raft_term"] == 7)
            #expect(samples["sluice_raft_commit_index"] == 41)
            #expect(samples["sluice_raft_applied_index"] == 40)
            #expect(samples["sluice_raft_is_leader"] == 1)
            // No partitions, no groups: the caps' gauges are there all the same, at 0.
            for family in ["partition", "group", "group_lag"] {
                #expect(samples[#"sluice_metrics_series_dropped{family=""# + family + #""}"#] == 0, "\(family)")
            }
            #expect(types["sluice_raft_term"] == "gauge")
            // The image the test broker's instant log built: one entry per proposal so far.
            #expect(samples["sluice_metadata_image_index"] == Double(broker.services.metadata.current.image.lastAppliedIndex.rawValue))
        }
    }

    @Test func capsLeavePartitionsOffAndCountThem() async throws {
        try await TestBroker.withBroker { broker in
            let connection = try BlockingKafkaCalls(port: broker.port)
            _ = try await connection.call(
                CreateTopicsRequest(topics: [.init(name: "c", numPartitions: 3, replicationFactor: 1)], timeoutMs: 5000), version: 4)
            var collector = NodeMetricsCollector(nodeID: 1, metrics: broker.services.metrics, partitions: broker.services.partitions,
                                                 view: broker.services.metadata, raft: nil)
            collector.limits.partitionsMax = 2
            let (samples, _) = Self.parse(await collector.render())
            // An API the node does not serve has no series.
            #expect(samples[#"sluice_requests_total{api="SaslHandshake"}"#] == nil)
            #expect(samples[#"sluice_metrics_series_dropped{family="partition"}"#] == 1)
            #expect(samples["sluice_partitions"] == 3)
            // The first two in (topic, partition) order are shown.
            #expect(samples[#"sluice_partition_log_end_offset{topic="c",partition="1"}"#] == 0)
            #expect(samples[#"sluice_partition_log_end_offset{topic="c",partition="2"}"#] == nil)
        }
    }
}
