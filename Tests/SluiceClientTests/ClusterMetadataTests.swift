import Testing
@testable import SluiceClient
import SluiceCore
import SluiceWire

@Suite("ClusterMetadata and addresses without a node")
struct ClusterMetadataTests {
    typealias Topic = MetadataResponse.MetadataResponseTopic
    typealias Partition = Topic.MetadataResponsePartition

    @Test func aMetadataAnswerBecomesBrokersControllerAndLeaders() throws {
        let response = MetadataResponse(
            brokers: [.init(nodeID: 2, host: "127.0.0.2", port: 9092), .init(nodeID: 1, host: "127.0.0.1", port: 9092)],
            clusterID: "c1", controllerID: 2,
            topics: [
                Topic(name: "orders", partitions: [
                    Partition(errorCode: KafkaErrorCode.leaderNotAvailable.rawValue, partitionIndex: 1, leaderID: -1,
                              leaderEpoch: 3, replicaNodes: [2], isrNodes: []),
                    Partition(partitionIndex: 0, leaderID: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1]),
                ]),
                Topic(errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue, name: "missing"),
            ])
        let metadata = ClusterMetadata(response)
        let orders = try TopicName(validating: "orders")
        #expect(metadata.sortedBrokers.map { $0.id.rawValue } == [1, 2])
        #expect(metadata.brokers[2]?.address == "127.0.0.2:9092")
        #expect(metadata.controllerID == 2)
        #expect(metadata.topics.keys.map { $0.rawValue } == ["orders"], "a topic with an error is left out")
        #expect(metadata.partitionCount(of: orders) == 2)
        #expect(metadata.leader(of: TopicPartition(orders, 0)) == 1)
        #expect(metadata.leader(of: TopicPartition(orders, 1)) == nil, "leader -1 means none")
        #expect(metadata.topics[orders]?.partitions[1].error == .leaderNotAvailable)
        #expect(metadata.leader(of: TopicPartition(orders, 7)) == nil)
    }

    private func answer(_ partitions: [Partition], topic: String = "orders", also: [Topic] = []) -> ClusterMetadata {
        ClusterMetadata(MetadataResponse(brokers: [.init(nodeID: 1, host: "h1", port: 9092)], controllerID: 1,
                                         topics: [Topic(name: topic, partitions: partitions)] + also))
    }

    /// Node 3 lags behind the metadata log: it still names leader 2 at epoch 4 for partition 0,
    /// which an election at epoch 5 moved to node 1. The cache keeps node 1.
    @Test func anAnswerWithAnOlderLeaderEpochDoesNotReplaceTheCachedLeader() throws {
        let orders = try TopicName(validating: "orders")
        let cached = answer([
            Partition(partitionIndex: 0, leaderID: 1, leaderEpoch: 5, replicaNodes: [1, 2], isrNodes: [1]),
            Partition(partitionIndex: 1, leaderID: 2, leaderEpoch: 3, replicaNodes: [1, 2], isrNodes: [1, 2]),
            Partition(partitionIndex: 2, leaderID: 1, leaderEpoch: 7, replicaNodes: [1, 2], isrNodes: [1]),
            Partition(partitionIndex: 3, leaderID: 1, leaderEpoch: 2, replicaNodes: [1, 2], isrNodes: [1]),
        ])
        let lagging = answer([
            Partition(partitionIndex: 0, leaderID: 2, leaderEpoch: 4, replicaNodes: [1, 2], isrNodes: [1, 2]),
            Partition(partitionIndex: 1, leaderID: 1, leaderEpoch: 4, replicaNodes: [1, 2], isrNodes: [1]),
            Partition(partitionIndex: 2, leaderID: 1, leaderEpoch: 7, replicaNodes: [1, 2], isrNodes: [1, 2]),
            Partition(partitionIndex: 3, leaderID: 2, leaderEpoch: -1, replicaNodes: [1, 2], isrNodes: [2]),
        ])
        let (merged, kept) = cached.merging(lagging, forgetting: [])
        #expect(kept == [TopicPartition(orders, 0)])
        #expect(merged.leader(of: TopicPartition(orders, 0)) == 1, "epoch 4 is older than the cached 5")
        #expect(merged.topics[orders]?.partitions[0].leaderEpoch == 5)
        #expect(merged.topics[orders]?.partitions[0].inSyncReplicas == [1], "the whole partition entry is kept")
        #expect(merged.leader(of: TopicPartition(orders, 1)) == 1, "a newer epoch replaces the cached leader")
        #expect(merged.topics[orders]?.partitions[1].leaderEpoch == 4)
        #expect(merged.topics[orders]?.partitions[2].inSyncReplicas == [1, 2], "the same epoch is news (an ISR change)")
        #expect(merged.leader(of: TopicPartition(orders, 3)) == 2, "an answer without an epoch is taken as it is")
        let accepted = cached.merging(lagging, forgetting: [], acceptingOlderEpochs: [TopicPartition(orders, 0)])
        #expect(accepted.metadata.leader(of: TopicPartition(orders, 0)) == 2 && accepted.keptOverOlderEpoch.isEmpty,
                "once the older epoch has been the only answer for long enough (a re-created topic), it is taken")
    }

    @Test func olderEpochAnswersAreTakenOnlyAfterPersistingForThePatience() throws {
        let p0 = TopicPartition(try TopicName(validating: "orders"), 0)
        let p1 = TopicPartition(try TopicName(validating: "orders"), 1)
        let t0 = ContinuousClock.now
        var answers = OlderEpochAnswers()
        answers.record(kept: [p0], at: t0)
        answers.record(kept: [p0, p1], at: t0 + .seconds(100))
        #expect(answers.overdue(at: t0 + .seconds(299), patience: .seconds(300)).isEmpty)
        #expect(answers.overdue(at: t0 + .seconds(300), patience: .seconds(300)) == [p0],
                "p0 was kept since t0, kept again at t0 + 100 s without resetting")
        #expect(answers.overdue(at: t0 + .seconds(400), patience: .seconds(300)) == [p0, p1])
        answers.record(kept: [p1], at: t0 + .seconds(400))
        #expect(answers.keptSince.keys.sorted() == [p1], "a current answer for p0 forgets it")
        #expect(answers.keptSince[p1] == t0 + .seconds(100))
    }

    @Test func anAnswerAboutEveryTopicDropsTheOnesItLeavesOut() throws {
        let orders = try TopicName(validating: "orders")
        let audit = try TopicName(validating: "audit")
        let cached = answer([Partition(partitionIndex: 0, leaderID: 1, leaderEpoch: 5)],
                            also: [Topic(name: "audit", partitions: [Partition(partitionIndex: 0, leaderID: 1, leaderEpoch: 0)])])
        let fresh = answer([Partition(partitionIndex: 0, leaderID: 2, leaderEpoch: 6)])
        #expect(cached.merging(fresh, forgetting: []).metadata.topics[audit] != nil, "a partial answer keeps other topics")
        #expect(cached.merging(fresh, forgetting: [audit]).metadata.topics[audit] == nil, "asked about and not found")
        let all = cached.merging(fresh, forgetting: [], keepingUnmentioned: false).metadata
        #expect(all.topics[audit] == nil)
        #expect(all.leader(of: TopicPartition(orders, 0)) == 2)
    }

    @Test func underReplicatedAndOfflineFollowTheReplicaLists() throws {
        let orders = try TopicName(validating: "orders")
        let metadata = answer([
            Partition(partitionIndex: 0, leaderID: 1, leaderEpoch: 1, replicaNodes: [1, 2, 3], isrNodes: [1, 2, 3]),
            Partition(partitionIndex: 1, leaderID: 1, leaderEpoch: 1, replicaNodes: [1, 2, 3], isrNodes: [1, 3],
                      offlineReplicas: [2]),
            Partition(errorCode: KafkaErrorCode.leaderNotAvailable.rawValue, partitionIndex: 2, leaderID: -1,
                      leaderEpoch: 2, replicaNodes: [2], isrNodes: [2], offlineReplicas: [2]),
        ])
        let partitions = try #require(metadata.topics[orders]).partitions
        #expect(partitions.map(\.isUnderReplicated) == [false, true, false])
        #expect(partitions.map(\.isOffline) == [false, false, true])
        #expect(partitions[1].offlineReplicas == [2])
    }

    @Test func addressesParseLikeKafkasBootstrapList() {
        #expect(BrokerAddress("127.0.0.1:9092") == BrokerAddress(host: "127.0.0.1", port: 9092))
        #expect(BrokerAddress("[::1]:9093") == BrokerAddress(host: "::1", port: 9093))
        #expect(BrokerAddress("[::1]:9093")?.description == "[::1]:9093")
        for bad in ["", "host", "host:", ":9092", "host:0", "host:70000", "[::1]9092"] {
            #expect(BrokerAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func retriableAndStaleMetadataErrorsAreTold() {
        let notLeader = SluiceClientError.server(.notLeaderOrFollower, api: .produce, resource: "orders-0", message: nil)
        #expect(notLeader.isRetriable && notLeader.invalidatesMetadata)
        #expect(notLeader.description == "Produce failed for orders-0: \(KafkaErrorCode.notLeaderOrFollower)")
        let tooLarge = SluiceClientError.server(.messageTooLarge, api: .produce, resource: nil, message: nil)
        #expect(!tooLarge.isRetriable)
        let unknownCode = SluiceClientError.server(code: 999, api: .metadata, resource: nil, message: "odd")
        #expect(unknownCode.kafkaErrorCode == .unknownServerError)
        #expect(unknownCode.description.contains("error code 999"))
    }
}
