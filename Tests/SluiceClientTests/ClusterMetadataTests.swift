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
