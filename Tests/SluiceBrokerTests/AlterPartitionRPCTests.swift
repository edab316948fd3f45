import Logging
import NIOPosix
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
@testable import SluiceReplication
import SluiceWire
import Testing

/// ISR changes from a partition leader on node 1 to the controller on node 3, over a real
/// loopback inter-node listener (`AlterPartitionSender` → `ControllerRPC` → `ControllerService`).
@Suite("AlterPartition over the inter-node listener", .timeLimit(.minutes(1)))
struct AlterPartitionRPCTests {
    static let t = try! TopicName(validating: "t")
    static let tp = TopicPartition(t, 0)
    static let incarnation = KafkaUUID(high: 1, low: 1)

    /// The controller node (3) behind a listener; brokers 1 and 2 registered and unfenced, and
    /// topic "t" with one partition, replicas [1, 2], led by 1.
    struct ControllerNode {
        let service: ControllerService
        let view: MetadataView
        let server: InterNodeServer

        var state: PartitionState? { view.current.image.partition(AlterPartitionRPCTests.tp) }
    }

    static func withController(_ body: (ControllerNode) async throws -> Void) async throws {
        let view = MetadataView()
        view.publish(controllerID: 3)
        let clock = TestClock()
        let service = ControllerService(nodeID: 3, log: FakeMetadataLog(view: view), view: view, options: ControllerOptions(),
                                        logger: testLogger, nowMs: { clock.nowMs })
        await service.activate()
        for id: Int32 in [1, 2] {
            let heartbeat = BrokerHeartbeat(nodeID: NodeID(id), incarnation: incarnation,
                                            clientEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9092),
                                            interNodeEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9093))
            _ = await service.heartbeat(heartbeat)
            _ = await service.heartbeat(heartbeat)
        }
        let created = await service.createTopics(CreateTopicsRequest(topics: [.init(name: "t", numPartitions: 1, replicationFactor: 2)]))
        precondition(created.topics.first?.errorCode == 0, "topic not created: \(created)")
        var registry = InterNodeHandlerRegistry()
        ControllerRPC.register(in: &registry, controller: service)
        let server = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: 0), registry: registry, logger: testLogger)
        let running = Task { try await server.run() }
        let node = ControllerNode(service: service, view: view, server: server)
        precondition(node.state?.leader == 1 && node.state?.isr == [1, 2])
        do {
            try await body(node)
        } catch {
            server.close()
            _ = try? await running.value
            throw error
        }
        server.close()
        _ = try? await running.value
    }

    static let client = InterNodeClient(group: MultiThreadedEventLoopGroup.singleton, frameBytesMax: 1 << 20,
                                        timeout: .seconds(10), clientID: "node-1")

    /// Node 1's sender: its own controller is inactive, so it calls node 3 at `port`.
    static func sender(port: Int, retryTime: Duration = .seconds(5)) -> AlterPartitionSender {
        let view = MetadataView()
        view.publish(controllerID: 3)
        let local = ControllerService(nodeID: 1, log: FakeMetadataLog(view: view), view: view, options: ControllerOptions(),
                                      logger: testLogger, nowMs: { 0 })
        var sender = AlterPartitionSender(nodeID: 1, incarnation: incarnation, controller: local, view: view, client: client,
                                          voters: [3: HostPort(host: "127.0.0.1", port: port)], logger: testLogger)
        sender.retryTime = retryTime
        sender.backoffInitial = .milliseconds(10)
        return sender
    }

    static func shrink(partitionEpoch: PartitionEpoch = 0) -> ISRProposal {
        ISRProposal(leaderEpoch: 0, partitionEpoch: partitionEpoch, oldISR: [1, 2], newISR: [1], addedIncarnations: [:],
                    reason: "follower 2 has not caught up for 30000 ms")
    }

    @Test func aShrinkIsAcceptedAndCommittedWithTheNextPartitionEpoch() async throws {
        try await Self.withController { node in
            let answer = await Self.sender(port: node.server.port).submit(Self.shrink(), for: Self.tp)
            #expect(answer == .accepted(isr: [1], partitionEpoch: 1))
            #expect(node.state?.isr == [1] && node.state?.partitionEpoch == 1 && node.state?.leaderEpoch == 0)
        }
    }

    @Test func aStalePartitionEpochIsRejectedWithoutRetrying() async throws {
        try await Self.withController { node in
            let sender = Self.sender(port: node.server.port)
            #expect(await sender.submit(Self.shrink(), for: Self.tp) == .accepted(isr: [1], partitionEpoch: 1))
            let expand = ISRProposal(leaderEpoch: 0, partitionEpoch: 0, oldISR: [1], newISR: [1, 2], addedIncarnations: [:], reason: "caught up")
            let started = ContinuousClock.now
            #expect(await sender.submit(expand, for: Self.tp) == .rejected)
            #expect(ContinuousClock.now - started < .seconds(2))  // refused, not retried for 5 s
            #expect(node.state?.isr == [1] && node.state?.partitionEpoch == 1)
        }
    }

    @Test func theHandlerAnswersWithKafkaErrorCodes() async throws {
        try await Self.withController { node in
            let address = HostPort(host: "127.0.0.1", port: node.server.port)
            var request = SluiceWire.AlterPartitionRequest(topic: "t", partition: 0, leaderID: 1,
                                                           leaderIncarnation: KafkaUUID(high: 9, low: 9), leaderEpoch: 0,
                                                           partitionEpoch: 0, newIsr: [1])
            let stale = try await Self.client.call(request, to: address)
            #expect(stale.errorCode == KafkaErrorCode.staleBrokerEpoch.rawValue && stale.errorMessage != nil)
            request.leaderIncarnation = Self.incarnation
            request.leaderEpoch = 4
            #expect(try await Self.client.call(request, to: address).errorCode == KafkaErrorCode.unknownLeaderEpoch.rawValue)
            request.leaderEpoch = 0
            let accepted = try await Self.client.call(request, to: address)
            #expect(accepted.errorCode == 0 && accepted.isr == [1] && accepted.partitionEpoch == 1 && accepted.leaderID == 1)
            await node.service.deactivate()
            #expect(try await Self.client.call(request, to: address).errorCode == KafkaErrorCode.notController.rawValue)
        }
    }

    @Test func notControllerIsRetriedUntilTheControllerIsBack() async throws {
        try await Self.withController { node in
            await node.service.deactivate()
            let sender = Self.sender(port: node.server.port)
            let submitted = Task { await sender.submit(Self.shrink(), for: Self.tp) }
            try await Task.sleep(for: .milliseconds(200))
            await node.service.activate()
            #expect(await submitted.value == .accepted(isr: [1], partitionEpoch: 1))
        }
    }

    @Test func notControllerForTheWholeRetryTimeIsRejected() async throws {
        try await Self.withController { node in
            await node.service.deactivate()
            let started = ContinuousClock.now
            #expect(await Self.sender(port: node.server.port, retryTime: .milliseconds(300)).submit(Self.shrink(), for: Self.tp) == .rejected)
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(node.state?.isr == [1, 2])
        }
    }

    @Test func anUnreachableControllerIsRetriedThenGivenUp() async throws {
        // Bind and close a listener for a port nobody listens on.
        let closed = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: 0), registry: InterNodeHandlerRegistry(),
                                                    logger: testLogger)
        let port = closed.port
        closed.close()
        try await Self.withController { node in
            let started = ContinuousClock.now
            #expect(await Self.sender(port: port, retryTime: .milliseconds(300)).submit(Self.shrink(), for: Self.tp) == .rejected)
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(node.state?.isr == [1, 2])
        }
    }

    @Test func aHeartbeatOverTheListenerCarriesAnUncleanShutdownToTheController() async throws {
        try await Self.withController { node in
            #expect(await Self.sender(port: node.server.port).submit(Self.shrink(), for: Self.tp) == .accepted(isr: [1], partitionEpoch: 1))
            // Node 1 restarts after a crash: a new incarnation, its storage says unclean.
            let view = MetadataView()
            view.publish(controllerID: 3)
            let local = ControllerService(nodeID: 1, log: FakeMetadataLog(view: view), view: view, options: ControllerOptions(),
                                          logger: testLogger, nowMs: { 0 })
            let heartbeater = BrokerHeartbeater(
                heartbeat: BrokerHeartbeat(nodeID: 1, incarnation: KafkaUUID(high: 1, low: 2),
                                           clientEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9092),
                                           interNodeEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9093)),
                controller: local, view: view, client: Self.client,
                voters: [3: HostPort(host: "127.0.0.1", port: node.server.port)], interval: .seconds(1), logger: testLogger,
                cleanShutdown: false)
            try await heartbeater.send()  // registers the new incarnation, fenced
            try await heartbeater.send()  // unfences it
            #expect(node.view.current.image.isUnfenced(1))
            #expect(node.state?.leader == NodeID.none && node.state?.isrRestartedUnclean == true)
            #expect(node.view.current.image.offlineReason(Self.tp)?.contains("unclean shutdown") == true)
        }
    }

    @Test func onTheControllerNodeTheChangeStaysInProcess() async throws {
        try await Self.withController { node in
            // A sender on node 1 whose own controller is the active one: no voter address at all.
            let sender = AlterPartitionSender(nodeID: 1, incarnation: Self.incarnation, controller: node.service, view: node.view,
                                              client: Self.client, voters: [:], logger: testLogger)
            #expect(await sender.submit(Self.shrink(), for: Self.tp) == .accepted(isr: [1], partitionEpoch: 1))
            let stale = await sender.submit(Self.shrink(), for: Self.tp)
            #expect(stale == .rejected && node.state?.partitionEpoch == 1)
        }
    }
}
