import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Controller: broker leases, fencing and leader election")
struct ControllerBrokerTests {
    static let t = Fixture.topic("t")

    /// Three brokers and topic "t" with one partition, replicas [1, 2, 3], leader 1.
    static func cluster() -> Controller {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.createTopics([CreateTopicRequest(name: "t", numPartitions: 1, replicationFactor: 3)], validateOnly: false)
        precondition(controller.image.partition(TopicPartition(t, 0))!.replicas == [1, 2, 3])
        return controller
    }

    static func state(_ controller: Controller) -> PartitionState { controller.image.partition(TopicPartition(t, 0))! }

    /// Keeps `alive` heartbeating at `nowMs`, then ticks.
    static func advance(_ controller: inout Controller, to nowMs: Int64, alive: [Int32]) -> [NodeID] {
        for id in alive { _ = controller.brokerHeartbeat(Fixture.heartbeat(id), nowMs: nowMs) }
        return controller.tick(nowMs: nowMs).result
    }

    @Test func newBrokerIsRegisteredFencedThenUnfencedOnItsNextHeartbeat() {
        var controller = Controller(image: .empty, nowMs: 0, seed: 1)
        let first = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 0)
        #expect(first.result.isFenced && first.records.map(\.kind) == [.registerBroker])
        let second = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 100)
        #expect(!second.result.isFenced && second.records.map(\.kind) == [.unfenceBroker])
        let third = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 200)
        #expect(!third.result.isFenced && third.batches.isEmpty)
    }

    @Test func heartbeatWithANegativeIDOrAnOversizedHostIsRefused() {
        var controller = Controller(image: .empty, nowMs: 0, seed: 1)
        let negative = controller.brokerHeartbeat(Fixture.heartbeat(-1), nowMs: 0)
        #expect(negative.result.error == .invalidRequest && negative.batches.isEmpty)
        var long = Fixture.heartbeat(1)
        long.clientEndpoint.host = String(repeating: "h", count: 256)
        #expect(controller.brokerHeartbeat(long, nowMs: 0).result.error == .invalidRequest)
        #expect(controller.image == .empty)
    }

    @Test func registrationsStopAtTheBrokerLimit() {
        var controller = Controller(image: .empty, nowMs: 0, seed: 1)
        for id in 0..<Int32(Controller.brokersMax) { _ = controller.brokerHeartbeat(Fixture.heartbeat(id), nowMs: 0) }
        #expect(controller.brokerHeartbeat(Fixture.heartbeat(5_000), nowMs: 0).result.error == .invalidRequest)
        // Known brokers still heartbeat.
        #expect(controller.brokerHeartbeat(Fixture.heartbeat(7), nowMs: 0).result == BrokerHeartbeatResult(isFenced: false))
    }

    @Test func leaseExpiresExactlyAtTheSessionTimeout() {
        var controller = Fixture.controller(brokers: 1)
        #expect(controller.tick(nowMs: 8_999).result.isEmpty)
        #expect(controller.tick(nowMs: 9_000).result == [1])
        #expect(controller.image.brokers[1]?.isFenced == true)
        #expect(controller.tick(nowMs: 20_000).result.isEmpty)
    }

    @Test func fencingTheLeaderElectsTheFirstUnfencedISRReplicaAndDropsTheFencedOneFromTheISR() {
        var controller = Self.cluster()
        #expect(Self.advance(&controller, to: 9_000, alive: [2, 3]) == [1])
        let state = Self.state(controller)
        #expect(state.leader == 2 && state.isr == [2, 3])
        #expect(state.leaderEpoch == 1 && state.partitionEpoch == 1)
    }

    @Test func fencingAFollowerTakesItOutOfTheISRAndKeepsTheLeader() {
        var controller = Self.cluster()
        #expect(Self.advance(&controller, to: 9_000, alive: [1, 3]) == [2])
        let state = Self.state(controller)
        #expect(state.isr == [1, 3] && state.leader == 1)
        #expect(state.partitionEpoch == 1 && state.leaderEpoch == 0)
    }

    @Test func electionNeverPicksAReplicaOutsideTheISR() {
        var controller = Self.cluster()
        // The leader shrinks the ISR to itself; then it dies while 2 and 3 live.
        let state = Self.state(controller)
        let shrink = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(topic: Self.t, partition: 0, leaderID: 1, leaderIncarnation: Fixture.incarnation(1), leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: [1]))
        #expect(shrink.records.count == 1)
        #expect(Self.advance(&controller, to: 9_000, alive: [2, 3]) == [1])
        let after = Self.state(controller)
        #expect(after.leader == NodeID.none && after.isr == [1])
        #expect(after.leaderEpoch == 1)
        // When the last in-sync replica comes back, it leads again.
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 9_500)
        #expect(Self.state(controller).leader == 1 && Self.state(controller).leaderEpoch == 2)
    }

    @Test func allReplicasFencedKeepsANonEmptyISRAndNoLeader() {
        var controller = Self.cluster()
        #expect(Self.advance(&controller, to: 9_000, alive: []) == [1, 2, 3])
        let state = Self.state(controller)
        #expect(state.leader == NodeID.none && !state.isr.isEmpty)
        #expect(state.isr.allSatisfy(state.replicas.contains))
        // Whichever ISR member returns first leads.
        _ = controller.brokerHeartbeat(Fixture.heartbeat(3), nowMs: 10_000)
        #expect(Self.state(controller).leader == 3)
    }

    @Test func restartedBrokerIsFencedAndLosesItsLeadershipAtOnce() {
        var controller = Self.cluster()
        let output = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 1_000)
        #expect(output.result.isFenced)
        #expect(output.records.map(\.kind) == [.registerBroker, .partitionChange])
        #expect(Self.state(controller).leader == 2)
        #expect(controller.image.brokers[1]?.incarnation == Fixture.incarnation(2))
    }

    @Test func newControllerGivesEveryUnfencedBrokerAFreshLease() {
        let old = Self.cluster()
        var successor = Controller(image: old.image, nowMs: 50_000, seed: 2)
        #expect(successor.tick(nowMs: 58_999).result.isEmpty)
        #expect(successor.tick(nowMs: 59_000).result == [1, 2, 3])
    }

    @Test func fenceRecordsReplayOnAnotherNodeToTheSameImage() {
        var controller = Self.cluster()
        var follower = controller.image
        for id: Int32 in [2, 3] { _ = controller.brokerHeartbeat(Fixture.heartbeat(id), nowMs: 9_000) }
        let output = controller.tick(nowMs: 9_000)
        for record in output.records { try? follower.apply(record) }
        #expect(follower == controller.image)
    }
}

@Suite("Controller: AlterPartition and producer ids")
struct ControllerAlterPartitionTests {
    static let t = Fixture.topic("t")

    static func request(_ controller: Controller, leader: NodeID? = nil, leaderEpoch: LeaderEpoch? = nil, partitionEpoch: PartitionEpoch? = nil, isr: [NodeID]) -> SluiceMetadata.AlterPartitionRequest {
        let state = controller.image.partition(TopicPartition(t, 0))!
        let leaderID = leader ?? state.leader
        return SluiceMetadata.AlterPartitionRequest(
            topic: t, partition: 0, leaderID: leaderID,
            leaderIncarnation: controller.image.brokers[leaderID]?.incarnation ?? .zero, leaderEpoch: leaderEpoch ?? state.leaderEpoch,
            partitionEpoch: partitionEpoch ?? state.partitionEpoch, newISR: isr)
    }

    static func code(_ output: ControllerOutput<AlterPartitionResult>) -> KafkaErrorCode? {
        if case .rejected(let code, _) = output.result { return code }
        return nil
    }

    @Test func shrinkThenExpandBumpsThePartitionEpochOnly() {
        var controller = ControllerBrokerTests.cluster()
        let shrink = controller.alterPartition(Self.request(controller, isr: [1, 3]))
        guard case .accepted(let state) = shrink.result else { Issue.record("rejected: \(shrink.result)"); return }
        #expect(state.isr == [1, 3] && state.partitionEpoch == 1 && state.leaderEpoch == 0)
        let expand = controller.alterPartition(Self.request(controller, isr: [1, 2, 3]))
        guard case .accepted(let expanded) = expand.result else { Issue.record("rejected: \(expand.result)"); return }
        #expect(expanded.isr == [1, 2, 3] && expanded.partitionEpoch == 2)
    }

    @Test func stalePartitionEpochIsRejectedWithInvalidUpdateVersion() {
        var controller = ControllerBrokerTests.cluster()
        let stale = Self.request(controller, isr: [1, 2])
        _ = controller.alterPartition(Self.request(controller, isr: [1, 3]))
        let output = controller.alterPartition(stale)
        #expect(Self.code(output) == .invalidUpdateVersion && output.batches.isEmpty)
    }

    @Test func wrongLeaderOrEpochIsRejected() {
        var controller = ControllerBrokerTests.cluster()
        #expect(Self.code(controller.alterPartition(Self.request(controller, leader: 2, isr: [2]))) == .notLeaderOrFollower)
        #expect(Self.code(controller.alterPartition(Self.request(controller, leaderEpoch: 5, isr: [1]))) == .unknownLeaderEpoch)
        // After a leader change the old leader's epoch is fenced.
        var moved = ControllerBrokerTests.cluster()
        _ = ControllerBrokerTests.advance(&moved, to: 9_000, alive: [2, 3])
        #expect(Self.code(moved.alterPartition(Self.request(moved, leader: 1, leaderEpoch: 0, isr: [1]))) == .fencedLeaderEpoch)
        let unknown = SluiceMetadata.AlterPartitionRequest(topic: Fixture.topic("nope"), partition: 0, leaderID: 1, leaderIncarnation: Fixture.incarnation(1), leaderEpoch: 0, partitionEpoch: 0, newISR: [1])
        #expect(Self.code(controller.alterPartition(unknown)) == .unknownTopicOrPartition)
    }

    @Test func malformedISRsAreRejected() {
        var controller = ControllerBrokerTests.cluster()
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: []))) == .invalidRequest)
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: [1, 1]))) == .invalidRequest)
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: [1, 4]))) == .invalidRequest)
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: [2, 3]))) == .invalidRequest)
    }

    @Test func addingAFencedBrokerToTheISRIsRejected() {
        var controller = ControllerBrokerTests.cluster()
        _ = controller.alterPartition(Self.request(controller, isr: [1, 2]))
        #expect(ControllerBrokerTests.advance(&controller, to: 9_000, alive: [1]) == [2, 3])
        // Fencing took 2 out of the ISR; the leader cannot put it back while it is fenced.
        #expect(controller.image.partition(TopicPartition(Self.t, 0))!.isr == [1])
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: [1, 2, 3]))) == .ineligibleReplica)
        #expect(Self.code(controller.alterPartition(Self.request(controller, isr: [1, 2]))) == .ineligibleReplica)
    }

    @Test func producerIDBlocksFollowEachOther() {
        var controller = Controller(image: .empty, nowMs: 0, seed: 1)
        #expect(controller.allocateProducerIDs(count: 1000).result == .allocated(first: 0, count: 1000))
        #expect(controller.allocateProducerIDs(count: 10).result == .allocated(first: 1000, count: 10))
        #expect(controller.image.nextProducerID == 1010)
        #expect(controller.allocateProducerIDs(count: 0).batches.isEmpty)
    }
}
