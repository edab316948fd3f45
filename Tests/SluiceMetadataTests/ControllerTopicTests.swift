import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Controller: topics, partitions and configs")
struct ControllerTopicTests {
    @Test func sixPartitionsOverThreeBrokersGiveEachBrokerTwoLeadersAndDistinctReplicas() throws {
        var controller = Fixture.controller(brokers: 3)
        let output = controller.createTopics([CreateTopicRequest(name: "t", numPartitions: 6, replicationFactor: 3)], validateOnly: false)
        #expect(output.result.map(\.error) == [.none])
        let topic = try #require(controller.image.topic(named: Fixture.topic("t")))
        #expect(topic.partitions.count == 6)
        let leaders = Dictionary(grouping: topic.partitions, by: \.leader).mapValues(\.count)
        #expect(leaders == [1: 2, 2: 2, 3: 2])
        for state in topic.partitions {
            #expect(Set(state.replicas).count == 3)
            #expect(state.isr == state.replicas && state.leader == state.replicas[0])
            #expect(state.leaderEpoch == 0 && state.partitionEpoch == 0)
        }
    }

    @Test func followersDoNotAlwaysPairTheSameBrokers() {
        let replicas = ReplicaPlacement.assign(partitions: 0..<8, replicationFactor: 2, brokers: [1, 2, 3, 4], start: 0, shift: 0)
        // After the first round of 4 partitions the follower offset shifts.
        #expect(replicas[0] == [1, 2] && replicas[4] == [1, 3])
        #expect(Set(replicas.map { $0[1] }).count == 4)
    }

    @Test func singlePartitionTopicsRotateTheirLeaders() throws {
        var controller = Fixture.controller(brokers: 3)
        for name in ["a", "b", "c"] {
            _ = controller.createTopics([CreateTopicRequest(name: name, numPartitions: 1, replicationFactor: 1)], validateOnly: false)
        }
        let leaders = ["a", "b", "c"].map { controller.image.partition(TopicPartition(Fixture.topic($0), 0))!.leader }
        #expect(Set(leaders) == [1, 2, 3])
    }

    @Test func createTopicsRecordsFormOneBatchPerDecisionAndReplayOnAnotherNode() throws {
        var controller = Fixture.controller(brokers: 3)
        let start = controller.image
        let output = controller.createTopics(
            [CreateTopicRequest(name: "x", numPartitions: 3, replicationFactor: 2, configs: ["retention.ms": "1000"])],
            validateOnly: false)
        #expect(output.batches.count == 1)
        var follower = start
        for batch in output.batches { #expect(follower.applyCommitted(payload: batch.encodedBytes(), index: 100, term: 1).isEmpty) }
        var leader = controller.image
        leader.markApplied(index: 100, term: 1)
        #expect(follower == leader)
        #expect(follower.effectiveConfig(.retentionMs, topic: Fixture.topic("x")) == "1000")
    }

    @Test func invalidCreateTopicsGetKafkaErrorsPerTopic() {
        var controller = Fixture.controller(brokers: 2)
        _ = controller.createTopics([CreateTopicRequest(name: "exists")], validateOnly: false)
        let output = controller.createTopics(
            [
                CreateTopicRequest(name: "bad/name"),
                CreateTopicRequest(name: "exists"),
                CreateTopicRequest(name: "zero", numPartitions: 0),
                CreateTopicRequest(name: "toomany", numPartitions: Controller.partitionsPerTopicMax + 1),
                CreateTopicRequest(name: "rf", replicationFactor: 3),
                CreateTopicRequest(name: "rf0", replicationFactor: 0),
                CreateTopicRequest(name: "unknownkey", configs: ["flush.messages": "1"]),
                CreateTopicRequest(name: "badvalue", configs: ["retention.ms": "-2"]),
                CreateTopicRequest(name: "compact", configs: ["cleanup.policy": "compact"]),
                CreateTopicRequest(name: "nullvalue", configs: ["retention.ms": nil]),
                CreateTopicRequest(name: "dup"), CreateTopicRequest(name: "dup"),
            ], validateOnly: false)
        #expect(output.result.map(\.error) == [
            .invalidTopicException, .topicAlreadyExists, .invalidPartitions, .invalidPartitions,
            .invalidReplicationFactor, .invalidReplicationFactor, .invalidConfig, .invalidConfig, .invalidConfig,
            .invalidConfig, .invalidRequest, .invalidRequest,
        ])
        #expect(output.batches.isEmpty)
    }

    @Test func minusOneMeansTheConfiguredDefaults() throws {
        var options = ControllerOptions()
        options.defaultPartitions = 4
        options.defaultReplicationFactor = 2
        var controller = Fixture.controller(brokers: 3, options: options)
        let result = controller.createTopics([CreateTopicRequest(name: "d")], validateOnly: false).result[0]
        #expect(result.numPartitions == 4 && result.replicationFactor == 2)
        #expect(controller.image.topic(named: Fixture.topic("d"))?.partitions.allSatisfy { $0.replicas.count == 2 } == true)
    }

    @Test func clusterPartitionLimitHolds() {
        var options = ControllerOptions()
        options.clusterPartitionsMax = 5
        var controller = Fixture.controller(brokers: 1, options: options)
        #expect(controller.createTopics([CreateTopicRequest(name: "a", numPartitions: 4)], validateOnly: false).result[0].error == .none)
        #expect(controller.createTopics([CreateTopicRequest(name: "b", numPartitions: 2)], validateOnly: false).result[0].error == .invalidPartitions)
        #expect(controller.createPartitions("a", count: 6, validateOnly: false).result.error == .invalidPartitions)
        #expect(controller.createPartitions("a", count: 5, validateOnly: false).result.error == .none)
    }

    @Test func validateOnlyChangesNothing() {
        var controller = Fixture.controller(brokers: 1)
        let before = controller.image
        let output = controller.createTopics([CreateTopicRequest(name: "v", numPartitions: 2)], validateOnly: true)
        #expect(output.result[0].error == .none && output.result[0].numPartitions == 2)
        #expect(output.batches.isEmpty && controller.image == before)
    }

    @Test func fencedBrokersGetNoReplicas() {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.tick(nowMs: 1)  // nothing expires yet
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 8_000)
        _ = controller.brokerHeartbeat(Fixture.heartbeat(2), nowMs: 8_000)
        #expect(controller.tick(nowMs: 9_000).result == [3])
        _ = controller.createTopics([CreateTopicRequest(name: "t", numPartitions: 4, replicationFactor: 2)], validateOnly: false)
        #expect(controller.image.topic(named: Fixture.topic("t"))!.partitions.allSatisfy { !$0.replicas.contains(3) })
        #expect(controller.createTopics([CreateTopicRequest(name: "u", replicationFactor: 3)], validateOnly: false).result[0].error == .invalidReplicationFactor)
    }

    @Test func deleteTopicsRemovesKnownTopicsAndReportsUnknownOnes() {
        var controller = Fixture.controller(brokers: 1)
        _ = controller.createTopics([CreateTopicRequest(name: "a"), CreateTopicRequest(name: "b")], validateOnly: false)
        let output = controller.deleteTopics(["a", "nope", "bad/name"])
        #expect(output.result.map(\.error) == [.none, .unknownTopicOrPartition, .unknownTopicOrPartition])
        #expect(output.records.count == 1)
        #expect(controller.image.topic(named: Fixture.topic("a")) == nil)
        #expect(controller.image.topic(named: Fixture.topic("b")) != nil)
    }

    @Test func createPartitionsOnlyGrowsAndKeepsTheReplicationFactor() throws {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.createTopics([CreateTopicRequest(name: "g", numPartitions: 2, replicationFactor: 2)], validateOnly: false)
        #expect(controller.createPartitions("g", count: 2, validateOnly: false).result.error == .invalidPartitions)
        #expect(controller.createPartitions("g", count: 1, validateOnly: false).result.error == .invalidPartitions)
        #expect(controller.createPartitions("nope", count: 3, validateOnly: false).result.error == .unknownTopicOrPartition)
        #expect(controller.createPartitions("g", count: 5, validateOnly: true).batches.isEmpty)
        let output = controller.createPartitions("g", count: 5, validateOnly: false)
        #expect(output.result.error == .none && output.records.count == 3)
        let topic = try #require(controller.image.topic(named: Fixture.topic("g")))
        #expect(topic.partitions.count == 5)
        #expect(topic.partitions.allSatisfy { $0.replicas.count == 2 && Set($0.replicas).count == 2 })
        // Leaders continue the topic's round robin: 5 partitions over 3 brokers, at most 2 each.
        #expect(Dictionary(grouping: topic.partitions, by: \.leader).values.allSatisfy { $0.count <= 2 })
    }

    @Test func alterConfigsValidatesEveryEntryBeforeChangingAny() {
        var controller = Fixture.controller(brokers: 1)
        _ = controller.createTopics([CreateTopicRequest(name: "c")], validateOnly: false)
        let bad = controller.alterTopicConfigs("c", ["retention.ms": "10", "segment.bytes": "12"], validateOnly: false)
        #expect(bad.result.error == .invalidConfig && bad.batches.isEmpty)
        let good = controller.alterTopicConfigs("c", ["retention.ms": "10", "flush.policy": "always", "min.insync.replicas": nil], validateOnly: false)
        #expect(good.result.error == .none && good.records.count == 3)
        #expect(controller.image.effectiveConfig(.flushPolicy, topic: Fixture.topic("c")) == "always")
        #expect(controller.alterTopicConfigs("nope", [:], validateOnly: false).result.error == .unknownTopicOrPartition)
    }

    @Test func topicIDsAreVersionFourAndUnique() {
        var controller = Fixture.controller(brokers: 1)
        let ids = (0..<50).map { controller.createTopics([CreateTopicRequest(name: "t\($0)")], validateOnly: false).result[0].topicID }
        #expect(Set(ids).count == 50)
        #expect(ids.allSatisfy { ($0.high >> 12) & 0xF == 4 && $0.low >> 62 == 0b10 })
    }
}

@Suite("Controller output batching")
struct ControllerOutputTests {
    static func changes(_ count: Int) -> [MetadataRecord] {
        (0..<count).map { .partitionChange(PartitionChangeRecord(topicID: .zero, partition: PartitionIndex(Int32($0)), partitionEpoch: 1)) }
    }

    @Test func unitsShareABatchUntilItIsFullAndAreNotSplitWhenTheyFit() {
        let max = MetadataRecordBatch.recordsMax
        let output = ControllerOutput(units: [Self.changes(10_002), Self.changes(15_000), [], Self.changes(3)], result: ())
        #expect(output.batches.map(\.records.count) == [10_002, 15_003])
        #expect(output.records.count == 25_005 && 15_003 <= max)
    }

    @Test func aUnitLargerThanABatchIsSplitInOrder() {
        let unit = Self.changes(45_000)
        let output = ControllerOutput(units: [Self.changes(1), unit], result: ())
        #expect(output.batches.map(\.records.count) == [20_000, 20_000, 5_001])
        let partitions = output.records.map { record -> Int32 in
            guard case .partitionChange(let change) = record else { return -1 }
            return change.partition.rawValue
        }
        #expect(partitions == [0] + (0..<45_000).map(Int32.init))
    }
}
