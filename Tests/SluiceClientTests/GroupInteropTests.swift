import Foundation
import SluiceCore
import Testing

@testable import SluiceClient

/// A confluent-kafka (librdkafka) consumer as a python subprocess: joins `group` with the
/// given assignor, reads until it has `want` records (or 40 s pass), closes (committing and
/// leaving), and prints the partitions it owned and the values it read as JSON. Assign and
/// revoke callbacks are incremental under cooperative-sticky and whole under range; the owned
/// set follows both.
private let confluentMember = """
import json, sys, time
from confluent_kafka import Consumer
bootstrap, topic, group, want, assignor = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
owned = set()
consumer = Consumer({
    'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest',
    'partition.assignment.strategy': assignor, 'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 300, 'auto.commit.interval.ms': 200})
consumer.subscribe([topic], on_assign=lambda c, ps: owned.update(p.partition for p in ps),
                  on_revoke=lambda c, ps: owned.difference_update(p.partition for p in ps))
values, deadline = [], time.time() + 40
while len(values) < want and time.time() < deadline:
    message = consumer.poll(0.2)
    if message is not None and not message.error():
        values.append(message.value().decode())
final = sorted(owned)  # close() revokes everything
consumer.close()
print(json.dumps({'owned': final, 'values': values}))
"""

/// The same member in kafka-python 3.x (its RangePartitionAssignor; subscription v0).
private let kafkaPythonMember = """
import json, sys, time
from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
bootstrap, topic, group, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(
    topic, bootstrap_servers=bootstrap.split(','), group_id=group, auto_offset_reset='earliest',
    partition_assignment_strategy=[RangePartitionAssignor], session_timeout_ms=6000,
    heartbeat_interval_ms=300, auto_commit_interval_ms=200)
values, deadline = [], time.time() + 40
while len(values) < want and time.time() < deadline:
    for records in consumer.poll(timeout_ms=200).values():
        values += [r.value.decode() for r in records]
final = sorted(p.partition for p in consumer.assignment())
consumer.close()
print(json.dumps({'owned': final, 'values': values}))
"""

private struct MemberReport: Decodable {
    var owned: [Int32]
    var values: [String]
}

@Suite("A Swift consumer and a Python client's consumer in one group", .serialized)
struct GroupInteropTests {
    typealias G = GroupFixture
    typealias F = ConsumerFixture

    /// `member` is "client:assignor": confluent-kafka with range or cooperative-sticky, or
    /// kafka-python with range.
    @Test(arguments: ["confluent:range", "confluent:cooperative-sticky", "kafka-python:range"])
    func theyShareSixPartitions(member: String) async throws {
        let assignor = String(member.split(separator: ":").last ?? "range")
        let script = member.hasPrefix("kafka-python") ? kafkaPythonMember : confluentMember
        try await TestCluster.with(nodes: 1, extraConfig: G.nodeConfig) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic()
            try await client.admin.createTopic(topic, partitionCount: 6)
            for partition in 0..<6 {
                try await F.produce(client, topic, partition: Int32(partition), values: (0..<10).map { "p\(partition)-\($0)" })
            }
            let all = Set((0..<6).map { TopicPartition(topic, PartitionIndex(Int32($0))) })
            // With range the Swift member offers its defaults (range, cooperative-sticky) and
            // librdkafka only range, so the group must agree on range; with cooperative-sticky
            // both offer only it and move partitions in two rebalances.
            var options = ConsumerOptions(groupID: "mixed-\(member)")
            if assignor == "cooperative-sticky" { options.assignors = [CooperativeStickyAssignor()] }
            options.sessionTimeout = .seconds(6)
            options.heartbeatInterval = .milliseconds(300)
            options.autoOffsetReset = .earliest
            let swiftMember = client.makeConsumer(options)
            try await swiftMember.subscribe(to: [topic])
            try await G.settle([swiftMember], cover: all, sizes: [6])

            async let python = runTool(
                "/usr/bin/env", ["python3", "-c", script, cluster.bootstrap.joined(separator: ","), topic.rawValue, "mixed-\(member)", "30", assignor])
            let swiftShare: [[TopicPartition]]
            do {
                swiftShare = try await G.settle([swiftMember], cover: Set(), sizes: [3], allowPartialCover: true)
            } catch {
                let (_, output) = try await python
                throw HarnessError("\(error); the \(member) member said: \(output)")
            }
            let swiftValues = F.values(try await F.take(30, from: swiftMember))
            let (status, output) = try await python
            #expect(status == 0, "\(output)")
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            let report = try JSONDecoder().decode(MemberReport.self, from: Data(line.utf8))
            let pythonShare = Set(report.owned.map { TopicPartition(topic, PartitionIndex($0)) })
            #expect(pythonShare.count == 3)
            #expect(pythonShare.isDisjoint(with: swiftShare[0]))
            #expect(pythonShare.union(swiftShare[0]) == all)
            #expect(Set(report.values).isDisjoint(with: swiftValues))
            #expect(Set(report.values + swiftValues).count == 60)
            await swiftMember.close()
            await client.close()
        }
    }
}
