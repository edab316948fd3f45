import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

/// A replica whose log is damaged leaves the ISR (ReplicaDamaged); a damaged leader hands
/// leadership to a live in-sync replica in the same change, and stays when there is none.
@Suite("Controller: replicas with a damaged log")
struct ControllerDamagedReplicaTests {
    typealias ISR = ControllerISRTests

    static func report(_ controller: Controller, from replica: NodeID, _ p: Int32 = 0, incarnation: UInt64 = 1) -> DamagedReplicaReport {
        let state = ISR.state(controller, p)
        return DamagedReplicaReport(
            topic: ISR.t, partition: PartitionIndex(p), replicaID: replica, replicaIncarnation: Fixture.incarnation(incarnation),
            leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, reason: "damaged at offset 4")
    }

    @Test func aDamagedLeaderHandsLeadershipToTheFirstOtherLiveISRMemberAndLeavesTheISR() {
        var controller = ISR.cluster()
        let before = ISR.state(controller)
        #expect(before.leader == 1 && before.isr == [1, 2, 3])
        let output = controller.replicaDamaged(Self.report(controller, from: 1))
        guard case .accepted(let after) = output.result else { Issue.record("refused: \(output.result)"); return }
        #expect(after.leader == 2 && after.isr == [2, 3])
        #expect(after.leaderEpoch == before.leaderEpoch.next && after.partitionEpoch == before.partitionEpoch.next)
        #expect(output.records.count == 1 && ISR.state(controller) == after)
    }

    @Test func aDamagedFollowerLeavesTheISRAndTheLeaderStays() {
        var controller = ISR.cluster()
        let before = ISR.state(controller)
        guard case .accepted(let after) = controller.replicaDamaged(Self.report(controller, from: 3)).result else {
            Issue.record("refused"); return
        }
        #expect(after.leader == 1 && after.leaderEpoch == before.leaderEpoch && after.isr == [1, 2])
        // Reported again from outside the ISR (a retry after a lost answer): nothing changes.
        let again = controller.replicaDamaged(Self.report(controller, from: 3))
        guard case .accepted(let same) = again.result else { Issue.record("refused"); return }
        #expect(again.records.isEmpty && same == after)
    }

    @Test func aFencedISRMemberIsPassedOver() {
        var controller = ISR.cluster()
        // Broker 2 stops heartbeating and is fenced; partition 0 keeps leader 1 with ISR [1, 3].
        _ = ISR.advance(&controller, to: 9_000, alive: [1, 3])
        #expect(ISR.state(controller).isr == [1, 3])
        guard case .accepted(let after) = controller.replicaDamaged(Self.report(controller, from: 1)).result else {
            Issue.record("refused"); return
        }
        #expect(after.leader == 3 && after.isr == [3])
    }

    @Test func aSoleISRMemberKeepsLeadingAndNothingIsWritten() {
        var controller = ISR.cluster()
        ISR.shrink(&controller, to: [1])
        let before = ISR.state(controller)
        let output = controller.replicaDamaged(Self.report(controller, from: 1))
        guard case .rejected(let code, let message) = output.result else { Issue.record("accepted"); return }
        #expect(code == .eligibleLeadersNotAvailable && message.contains("only in-sync replica"))
        #expect(output.records.isEmpty && ISR.state(controller) == before)
    }

    /// Found by the simulator: the controller emptied the ISR of a leaderless partition whose
    /// only in-sync replica reported itself.
    @Test func theOnlyISRMemberOfALeaderlessPartitionStays() {
        var controller = ISR.cluster()
        ISR.shrink(&controller, to: [1])
        _ = ISR.advance(&controller, to: 9_000, alive: [2, 3])  // 1 is fenced: no leader, ISR [1]
        let before = ISR.state(controller)
        #expect(before.leader == .none && before.isr == [1])
        let output = controller.replicaDamaged(Self.report(controller, from: 1))
        guard case .rejected(.eligibleLeadersNotAvailable, _) = output.result else { Issue.record("\(output.result)"); return }
        #expect(output.records.isEmpty && ISR.state(controller) == before)
    }

    @Test func aReportIsCheckedLikeAnISRChange() {
        var controller = ISR.cluster()
        guard case .rejected(.staleBrokerEpoch, _) = controller.replicaDamaged(Self.report(controller, from: 2, incarnation: 9)).result else {
            Issue.record("an earlier incarnation's report was taken"); return
        }
        var stale = Self.report(controller, from: 2)
        stale.partitionEpoch = stale.partitionEpoch.next
        guard case .rejected(.invalidUpdateVersion, _) = controller.replicaDamaged(stale).result else {
            Issue.record("a report on a stale partition epoch was taken"); return
        }
        var old = Self.report(controller, from: 2)
        old.leaderEpoch = LeaderEpoch(old.leaderEpoch.rawValue - 1)
        guard case .rejected(.fencedLeaderEpoch, _) = controller.replicaDamaged(old).result else {
            Issue.record("a report on an old leader epoch was taken"); return
        }
        guard case .rejected(.staleBrokerEpoch, _) = controller.replicaDamaged(Self.report(controller, from: 7)).result else {
            Issue.record("an unregistered broker's report was taken"); return
        }
        #expect(ISR.state(controller).isr == [1, 2, 3])
    }
}
