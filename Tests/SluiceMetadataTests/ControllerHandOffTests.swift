import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

/// A leader whose log is damaged hands leadership to a live in-sync replica and leaves the ISR
/// (HandOffLeadership); with no one to take over it stays.
@Suite("Controller: leadership hand-off by a damaged leader")
struct ControllerHandOffTests {
    typealias ISR = ControllerISRTests

    static func handOff(_ controller: Controller, _ p: Int32 = 0, incarnation: UInt64 = 1) -> LeadershipHandOffRequest {
        let state = ISR.state(controller, p)
        return LeadershipHandOffRequest(
            topic: ISR.t, partition: PartitionIndex(p), leaderID: state.leader, leaderIncarnation: Fixture.incarnation(incarnation),
            leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, reason: "damaged at offset 4")
    }

    @Test func theFirstOtherLiveISRMemberLeadsAndTheDamagedLeaderLeavesTheISR() {
        var controller = ISR.cluster()
        let before = ISR.state(controller)
        #expect(before.leader == 1 && before.isr == [1, 2, 3])
        let output = controller.handOffLeadership(Self.handOff(controller))
        guard case .accepted(let after) = output.result else { Issue.record("refused: \(output.result)"); return }
        #expect(after.leader == 2 && after.isr == [2, 3])
        #expect(after.leaderEpoch == before.leaderEpoch.next && after.partitionEpoch == before.partitionEpoch.next)
        #expect(output.records.count == 1 && ISR.state(controller) == after)
    }

    @Test func aFencedISRMemberIsPassedOver() {
        var controller = ISR.cluster()
        // Broker 2 stops heartbeating and is fenced; partition 0 keeps leader 1 with ISR [1, 3].
        _ = ISR.advance(&controller, to: 9_000, alive: [1, 3])
        #expect(ISR.state(controller).isr == [1, 3])
        guard case .accepted(let after) = controller.handOffLeadership(Self.handOff(controller)).result else {
            Issue.record("refused"); return
        }
        #expect(after.leader == 3 && after.isr == [3])
    }

    @Test func aSoleISRMemberKeepsLeadingAndNothingIsWritten() {
        var controller = ISR.cluster()
        ISR.shrink(&controller, to: [1])
        let before = ISR.state(controller)
        let output = controller.handOffLeadership(Self.handOff(controller))
        guard case .rejected(let code, let message) = output.result else { Issue.record("accepted"); return }
        #expect(code == .eligibleLeadersNotAvailable && message.contains("no other in-sync replica"))
        #expect(output.records.isEmpty && ISR.state(controller) == before)
    }

    @Test func aHandOffIsCheckedLikeAnISRChange() {
        var controller = ISR.cluster()
        guard case .rejected(.staleBrokerEpoch, _) = controller.handOffLeadership(Self.handOff(controller, incarnation: 9)).result else {
            Issue.record("an earlier incarnation handed off"); return
        }
        var stale = Self.handOff(controller)
        stale.partitionEpoch = stale.partitionEpoch.next
        guard case .rejected(.invalidUpdateVersion, _) = controller.handOffLeadership(stale).result else {
            Issue.record("a stale partition epoch handed off"); return
        }
        var follower = Self.handOff(controller)
        follower.leaderID = 2
        follower.leaderIncarnation = Fixture.incarnation(1)
        guard case .rejected(.notLeaderOrFollower, _) = controller.handOffLeadership(follower).result else {
            Issue.record("a follower handed off leadership it does not have"); return
        }
    }
}
