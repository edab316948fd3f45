import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceTLS
import SluiceWire

@Suite("BrokerConnection against real nodes", .serialized)
struct ConnectionTests {
    static func connect(_ node: ServerProcess, configure: (inout ClientConfiguration) -> Void = { _ in },
                        tls: TLSContext? = nil) async throws -> BrokerConnection {
        var configuration = ClientConfiguration(bootstrap: [node.bootstrap])
        configure(&configuration)
        let address = try #require(BrokerAddress(node.bootstrap))
        return try await BrokerConnection.connect(to: address, configuration: configuration, tls: tls,
                                                  group: MultiThreadedEventLoopGroup.singleton)
    }

    /// A Fetch the node holds for `wait` (an empty partition, min 1 byte).
    static func longPoll(_ topic: TopicName, wait: Duration) -> FetchRequest {
        FetchRequest(replicaID: NodeID(-1), maxWaitMs: Int32(wait.components.seconds * 1000), minBytes: 1,
                     maxBytes: 1 << 20, isolationLevel: 0,
                     topics: [.init(topic: topic.rawValue, partitions: [.init(partition: 0, fetchOffset: 0,
                                                                              partitionMaxBytes: 1 << 20)])])
    }

    @Test func handshakePicksVersionsAndManyConcurrentRequestsShareOneConnection() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let connection = try await Self.connect(cluster.nodes[0]) { $0.inFlightRequestsMax = 4 }
            #expect(connection.version(for: MetadataRequest.self, max: 8) == 8)
            #expect(connection.version(for: ProduceRequest.self, max: 5) == 5)
            #expect(connection.version(for: ApiVersionsRequest.self, max: 99) == 2)
            // 200 requests, at most 4 on the wire at a time: each answer reaches its caller.
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let response = try await connection.send(MetadataRequest(topics: []), version: 8)
                        return response.brokers.count == 1 ? index : -1
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.sorted() == Array(0..<200))
            await connection.close()
        }
    }

    @Test func aRequestTimeoutFailsEveryPendingCallAndClosesTheConnection() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic("poll")
            try await client.admin.createTopic(topic, partitionCount: 1)
            let connection = try await Self.connect(cluster.nodes[0]) { $0.requestTimeout = .milliseconds(500) }
            let started = ContinuousClock.now
            async let first = connection.send(Self.longPoll(topic, wait: .seconds(5)), version: 11)
            try await Task.sleep(for: .milliseconds(100))
            async let second = connection.send(MetadataRequest(topics: []), version: 8)
            do {
                _ = try await first
                Issue.record("a 5 s long poll answered within a 500 ms request timeout")
            } catch let error as SluiceClientError {
                guard case .requestTimedOut(_, let api, _) = error else { throw error }
                #expect(api == "Fetch")
            }
            // Queued behind the poll on the same connection (Kafka answers in order), it fails too.
            let secondResult: Result<MetadataResponse, any Error>
            do { secondResult = .success(try await second) } catch { secondResult = .failure(error) }
            #expect(throws: SluiceClientError.self) { _ = try secondResult.get() }
            #expect(ContinuousClock.now - started < .seconds(4))
            #expect(!connection.isActive)
            await client.close()
        }
    }

    @Test func aDyingNodeFailsPendingCallsWithAClearError() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let topic = try uniqueTopic("poll")
            try await client.admin.createTopic(topic, partitionCount: 1)
            let connection = try await Self.connect(cluster.nodes[0])
            async let poll = connection.send(Self.longPoll(topic, wait: .seconds(20)), version: 11)
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.nodes[0].kill()
            do {
                _ = try await poll
                Issue.record("a call survived its node")
            } catch let error as SluiceClientError {
                guard case .connectionClosed(let address, _) = error else { throw error }
                #expect(address == cluster.nodes[0].bootstrap)
                #expect(error.description.contains("closed before the answer arrived"))
            }
            await client.close()
        }
    }

    @Test func tlsWithTheClusterCAWorksAndAWrongNameOrCAIsRefused() async throws {
        try await TestCluster.with(nodes: 1, tls: true) { cluster in
            let certificates = try #require(cluster.tlsDirectory)
            let client = try await cluster.client()
            let topic = try uniqueTopic("tls")
            try await client.admin.createTopic(topic, partitionCount: 1)
            let sent = try await client.makeProducer().send(ProducerRecord(topic: topic, key: "k", value: "over TLS"))
            #expect(sent.offset == 0)
            let records = try await PartitionReader.readAll(client, TopicPartition(topic, 0))
            #expect(PartitionReader.values(records) == ["over TLS"])
            await client.close()

            // The node's certificate does not carry this name: hostname verification refuses it.
            await #expect(throws: SluiceClientError.self) {
                _ = try await cluster.client {
                    $0.tls?.serverName = "not-the-node.example"
                    $0.connectTimeout = .seconds(3)
                }
            }
            // Plaintext to a TLS listener is not answered as Kafka.
            await #expect(throws: SluiceClientError.self) {
                _ = try await cluster.client {
                    $0.tls = nil
                    $0.connectTimeout = .seconds(3)
                    $0.requestTimeout = .seconds(3)
                }
            }
            // A CA file that does not exist is a configuration error.
            do throws(SluiceClientError) {
                _ = try await SluiceClient(configuration: {
                    var configuration = ClientConfiguration(bootstrap: cluster.bootstrap)
                    configuration.tls = ClientTLS(caFile: certificates.appendingPathComponent("nope.crt").path)
                    return configuration
                }())
                Issue.record("a missing CA file was accepted")
            } catch {
                guard case .invalidConfiguration = error else { throw error }
            }
        }
    }
}
