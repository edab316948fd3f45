import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

/// A controlled shutdown (KRaft's `WantShutDown`): what the controller does when a broker asks
/// to stop, and that nothing elects it or adds it back until its next process registers.
@Suite("Controller: controlled shutdown")
struct ControllerShutdownTests {
    typealias C = ControllerISRTests

    static func stopping(_ id: Int32, incarnation: UInt64 = 1) -> BrokerHeartbeat {
        var heartbeat = Fixture.heartbeat(id, incarnation: incarnation)
        heartbeat.wantShutDown = true
        return heartbeat
    }

    @Test func itsLeadershipsMoveItLeavesTheISRsAndMayStop() throws {
        var controller = C.cluster()
        let committed = controller.image
        let output = controller.brokerHeartbeat(Self.stopping(1), nowMs: 10)
        #expect(output.result.shouldShutDown && output.result.isFenced)
        // Partition 0 (replicas [1, 2, 3]) is led by the next in-sync replica, 2; broker 1 is
        // in no ISR any more; the others keep their leaders.
        #expect(C.state(controller, 0).leader == 2 && C.state(controller, 0).isr == [2, 3])
        #expect(C.state(controller, 1).leader == 2 && C.state(controller, 1).isr == [2, 3])
        #expect(C.state(controller, 2).leader == 3 && C.state(controller, 2).isr == [3, 2])
        #expect(controller.image.brokers[1]!.isFenced)
        // The records say the same to every node that applies them.
        var replayed = committed
        try replayed.applyAll(output.records)
        #expect(replayed == controller.image)
    }

    @Test func aPartitionWhoseOnlyInSyncReplicaStopsWaitsForItWithoutAnUncleanElection() {
        var controller = C.cluster(configs: ["unclean.leader.election.enable": "true"])
        C.shrink(&controller, 0, to: [1])
        _ = controller.brokerHeartbeat(Self.stopping(1), nowMs: 10)
        let state = C.state(controller, 0)
        #expect(!state.hasLeader && state.isr == [1])
        #expect(!state.isrRestartedUnclean)
    }

    @Test func aStoppingBrokerIsNotAddedBackToAnISRNorElected() {
        var controller = C.cluster()
        _ = controller.brokerHeartbeat(Self.stopping(3), nowMs: 10)
        // Leader 1 of partition 0 proposes [2, 3, 1 … ] with 3 back: refused.
        let state = C.state(controller, 0)
        #expect(state.isr == [1, 2])
        let expand = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(
                topic: C.t, partition: 0, leaderID: 1, leaderIncarnation: Fixture.incarnation(1),
                leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: [1, 2, 3]))
        guard case .rejected(let code, let message) = expand.result else { Issue.record("accepted"); return }
        #expect(code == .ineligibleReplica && message.contains("shutting down"))
        // Broker 1 stops too: partition 0 goes to 2, never to the stopping 3.
        _ = controller.brokerHeartbeat(Self.stopping(1), nowMs: 20)
        #expect(C.state(controller, 0).leader == 2)
        // Repeated heartbeats of the stopping, fenced broker change nothing.
        let again = controller.brokerHeartbeat(Self.stopping(3), nowMs: 30)
        #expect(again.records.isEmpty && again.result.shouldShutDown)
    }

    @Test func itsNextProcessRegistersAndIsUnfencedAsAfterAnyRestart() {
        var controller = C.cluster()
        _ = controller.brokerHeartbeat(Self.stopping(1), nowMs: 10)
        let register = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 20)
        #expect(register.result.isFenced && !register.result.shouldShutDown)
        let unfence = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 30)
        #expect(!unfence.result.isFenced && !controller.shuttingDown.contains(1))
        // Caught up, it may join an ISR again.
        let state = C.state(controller, 0)
        let expand = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(
                topic: C.t, partition: 0, leaderID: state.leader,
                leaderIncarnation: controller.image.brokers[state.leader]!.incarnation,
                leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: state.isr + [1]))
        guard case .accepted(let updated) = expand.result else { Issue.record("refused: \(expand.result)"); return }
        #expect(updated.isr.contains(1))
    }

    /// A failover loses the in-memory set, but the broker was fenced, and its heartbeats keep
    /// asking to stop: the new controller does not unfence it.
    @Test func aNewControllerKeepsAStoppingBrokerFenced() {
        var controller = C.cluster()
        _ = controller.brokerHeartbeat(Self.stopping(1), nowMs: 10)
        var next = Controller(image: controller.image, nowMs: 100, seed: 7)
        let answer = next.brokerHeartbeat(Self.stopping(1), nowMs: 110)
        #expect(answer.records.isEmpty && answer.result.isFenced && answer.result.shouldShutDown)
    }
}

/// Leadership returns to each partition's preferred replica (its first) once it is in sync
/// again (Kafka's auto leader rebalance), so leaders stay spread after restarts.
@Suite("Controller: preferred leaders")
struct ControllerPreferredLeaderTests {
    typealias C = ControllerISRTests

    /// Broker 1 restarts: partition 0 (preferred 1) moves to 2. Once 1 is back in its ISR, the
    /// periodic check hands it back, and not before the interval.
    @Test func leadershipReturnsToThePreferredReplicaOnTheCheck() {
        var options = ControllerOptions()
        options.leaderImbalanceCheckIntervalMs = 1_000
        var controller = Fixture.controller(brokers: 3, options: options)
        _ = controller.createTopics(
            [CreateTopicRequest(name: "t", numPartitions: 3, replicationFactor: 3)], validateOnly: false)
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 100)  // a new process: moves
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 100)  // unfenced
        #expect(C.state(controller, 0).leader == 2 && !C.state(controller, 0).isr.contains(1))
        // Not in the ISR yet: nothing to hand back.
        #expect(Self.advance(&controller, to: 1_100).records.isEmpty)
        // Its leader 2 adds it back once caught up.
        let state = C.state(controller, 0)
        _ = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(
                topic: C.t, partition: 0, leaderID: 2, leaderIncarnation: Fixture.incarnation(1),
                leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: state.isr + [1]))
        #expect(Self.advance(&controller, to: 1_500).records.isEmpty, "before the interval")
        let moved = Self.advance(&controller, to: 2_200)
        #expect(moved.records.count == 1)
        #expect(C.state(controller, 0).leader == 1 && C.state(controller, 0).leaderEpoch > state.leaderEpoch)
        #expect((0..<3).map { C.state(controller, $0).leader } == [1, 2, 3])
    }

    @Test func noRebalanceWhenOffOrWithinTheThreshold() {
        for (enabled, percentage) in [(false, 10), (true, 100)] {
            var options = ControllerOptions()
            options.leaderImbalanceCheckIntervalMs = 1_000
            options.autoLeaderRebalance = enabled
            options.leaderImbalancePerBrokerPercentage = percentage
            var controller = Fixture.controller(brokers: 3, options: options)
            _ = controller.createTopics(
                [CreateTopicRequest(name: "t", numPartitions: 3, replicationFactor: 3)], validateOnly: false)
            _ = controller.brokerHeartbeat(Self.stopping(1), nowMs: 100)
            _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 200)
            _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 200)
            let state = C.state(controller, 0)
            _ = controller.alterPartition(
                SluiceMetadata.AlterPartitionRequest(
                    topic: C.t, partition: 0, leaderID: state.leader, leaderIncarnation: Fixture.incarnation(1),
                    leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: state.isr + [1]))
            _ = Self.advance(&controller, to: 5_000)
            #expect(C.state(controller, 0).isr.contains(1))
            #expect(C.state(controller, 0).leader == 2, "enabled \(enabled), threshold \(percentage)%")
        }
    }

    static func stopping(_ id: Int32) -> BrokerHeartbeat { ControllerShutdownTests.stopping(id) }

    /// Brokers 2 and 3 (first process) and 1 (its second) heartbeat at `nowMs`, then a tick.
    static func advance(_ controller: inout Controller, to nowMs: Int64) -> ControllerOutput<[NodeID]> {
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: nowMs)
        for id in [Int32(2), 3] { _ = controller.brokerHeartbeat(Fixture.heartbeat(id), nowMs: nowMs) }
        return controller.tick(nowMs: nowMs)
    }
}

/// ElectLeaders (KIP-460) in the pure controller.
@Suite("Controller: ElectLeaders")
struct ControllerElectLeadersTests {
    typealias C = ControllerISRTests
    static func tp(_ p: Int32) -> TopicPartition { C.tp(p) }

    /// Broker 1 stopped and came back into partition 0's ISR: a preferred election gives it
    /// back; asked again, none is needed; an unknown partition is named.
    @Test func preferredElection() {
        var controller = C.cluster()
        _ = controller.brokerHeartbeat(ControllerShutdownTests.stopping(1), nowMs: 10)
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 20)
        let before = controller.electLeaders(.preferred, partitions: [Self.tp(0)])
        #expect(before.result.map(\.error) == [.preferredLeaderNotAvailable], "1 is not in the ISR yet")
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1, incarnation: 2), nowMs: 30)
        let state = C.state(controller, 0)
        _ = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(
                topic: C.t, partition: 0, leaderID: 2, leaderIncarnation: Fixture.incarnation(1),
                leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: state.isr + [1]))
        let output = controller.electLeaders(.preferred, partitions: [Self.tp(0), Self.tp(1), TopicPartition(Fixture.topic("nope"), 0)])
        #expect(output.result.map(\.error) == [.none, .electionNotNeeded, .unknownTopicOrPartition])
        #expect(C.state(controller, 0).leader == 1 && output.records.count == 1)
        // Every partition (nil): nothing left to do, and nothing listed.
        #expect(controller.electLeaders(.preferred, partitions: nil).result.isEmpty)
    }

    /// A leaderless partition whose only in-sync replica is gone: an unclean election (asked
    /// for) elects a live replica outside the ISR even though the topic does not allow it on
    /// its own; a led partition needs none.
    @Test func uncleanElectionOnlyWhenLeaderless() {
        var controller = C.cluster()
        C.shrink(&controller, 0, to: [1])
        _ = C.advance(&controller, to: 20_000, alive: [2, 3])  // 1's lease expires: fenced
        #expect(!C.state(controller, 0).hasLeader)
        let output = controller.electLeaders(.unclean, partitions: [Self.tp(0), Self.tp(1)])
        #expect(output.result.map(\.error) == [.none, .electionNotNeeded])
        #expect(C.state(controller, 0).leader == 2 && C.state(controller, 0).isr == [2])
        #expect(output.notices.count == 1 && output.notices[0].contains("unclean"))
    }
}

/// Found by the fault soak (seed 203): the preferred-leader check elected the uncleanly restarted
/// sole ISR member of a leaderless partition; the image refused the record and the controller
/// trapped, on every node that took over.
@Suite("Controller: preferred elections skip an uncleanly restarted sole ISR member")
struct ControllerPreferredUncleanTests {
    typealias C = ControllerISRTests

    @Test func neitherTheCheckNorElectLeadersElectsIt() {
        var options = ControllerOptions()
        options.leaderImbalanceCheckIntervalMs = 1_000
        var controller = Fixture.controller(brokers: 3, options: options)
        _ = controller.createTopics([CreateTopicRequest(name: "t", numPartitions: 3, replicationFactor: 3)], validateOnly: false)
        C.shrink(&controller, 0, to: [1])
        _ = controller.brokerHeartbeat(C.heartbeat(1, incarnation: 2, clean: false), nowMs: 100)  // registers: marks
        _ = controller.brokerHeartbeat(C.heartbeat(1, incarnation: 2, clean: false), nowMs: 100)  // unfences
        #expect(C.state(controller, 0).isrRestartedUnclean && !C.state(controller, 0).hasLeader)
        _ = ControllerPreferredLeaderTests.advance(&controller, to: 5_000)
        #expect(!C.state(controller, 0).hasLeader, "the rebalance check elected it")
        let asked = controller.electLeaders(.preferred, partitions: [C.tp(0)])
        #expect(asked.result.map(\.error) == [.preferredLeaderNotAvailable] && asked.records.isEmpty)
    }
}
