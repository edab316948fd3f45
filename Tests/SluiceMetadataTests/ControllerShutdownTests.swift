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
