import Testing
@testable import SluiceClient
import SluiceCore
import SluiceWire

@Suite("AdminClient against real nodes", .serialized)
struct AdminTests {
    @Test func topicLifecycleWithDescribeOffsetsAddPartitionsAndConfigs() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let client = try await cluster.client()
            let admin = client.admin
            let topic = try uniqueTopic("admin")
            try await admin.createTopic(topic, partitionCount: 3, replicationFactor: 1, configs: ["retention.ms": "3600000"])
            #expect(try await admin.listTopics().contains(topic))

            let producer = client.makeProducer(.init(partitioning: .balanced))
            for index in 0..<30 { try await producer.sendAndForget(ProducerRecord(topic: topic, key: nil, value: "\(index)")) }
            try await producer.close()

            let description = try await admin.describeTopic(topic)
            #expect(description.partitions.map(\.index) == [0, 1, 2])
            #expect(Set(description.partitions.compactMap(\.leader)) == [1, 2, 3], "one leader per node")
            for partition in description.partitions {
                #expect(partition.replicas == [try #require(partition.leader)])
                #expect(partition.inSyncReplicas == partition.replicas)
                #expect(partition.logStartOffset == 0)
                #expect(partition.logEndOffset == 10)
            }
            #expect(description.recordCount == 30)

            try await admin.addPartitions(to: topic, totalCount: 5)
            #expect(try await admin.describeTopic(topic).partitions.count == 5)

            let configs = try await admin.describeConfigs(ofTopic: topic)
            #expect(configs.first { $0.name == "retention.ms" }?.value == "3600000")

            try await admin.deleteTopics([topic])
            #expect(!(try await admin.listTopics().contains(topic)))
            await client.close()
        }
    }

    @Test func clusterDescriptionNamesEveryNodeAndTheController() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let client = try await cluster.client()
            let description = try await client.admin.describeCluster()
            #expect(description.nodes.map(\.id) == [1, 2, 3])
            #expect(description.nodes.map(\.address) == cluster.bootstrap)
            #expect(description.controllerID.map { [1, 2, 3].contains($0) } == true)
            await client.close()
        }
    }

    @Test func badRequestsAreClearErrors() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let admin = client.admin
            let topic = try uniqueTopic("dup")
            try await admin.createTopic(topic, partitionCount: 1)
            await #expect(throws: SluiceClientError.self) { try await admin.createTopic(topic, partitionCount: 1) }
            do throws(SluiceClientError) {
                try await admin.createTopic(topic, partitionCount: 1)
            } catch {
                #expect(error.kafkaErrorCode == .topicAlreadyExists)
                #expect(error.description.contains("TOPIC_ALREADY_EXISTS"))
                #expect(error.description.contains(topic.rawValue))
            }
            let missing = try uniqueTopic("missing")
            do throws(SluiceClientError) {
                _ = try await admin.describeTopic(missing)
                Issue.record("described a topic that does not exist")
            } catch {
                guard case .unknownTopic(let name) = error else { throw error }
                #expect(name == missing)
            }
            do throws(SluiceClientError) {
                try await admin.deleteTopics([missing])
                Issue.record("deleted a topic that does not exist")
            } catch {
                #expect(error.kafkaErrorCode == .unknownTopicOrPartition)
            }
            do throws(SluiceClientError) {
                try await admin.addPartitions(to: topic, totalCount: 1)
                Issue.record("shrank or kept a partition count")
            } catch {
                #expect(error.kafkaErrorCode == .invalidPartitions)
            }
            await client.close()
        }
    }
}
