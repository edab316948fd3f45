import SluiceCore
import SluiceWire
import Testing

@testable import SluiceClient

@Suite("GroupMembership")
struct GroupMembershipTests {
    typealias F = AssignorFixture

    func result(
        _ code: KafkaErrorCode = .none, member: String = "m-1", generation: GenerationID = 1,
        leader: String = "other", protocolName: String? = "range"
    ) -> GroupJoinResult {
        GroupJoinResult(
            errorCode: code, memberID: member, generation: generation, protocolName: protocolName,
            leaderID: leader, members: [])
    }

    /// Joins as a follower and syncs `assignment`.
    func stable(_ proto: RebalanceProtocol, assignment: [TopicPartition]) -> GroupMembership {
        var m = GroupMembership(rebalanceProtocol: proto)
        _ = m.join()
        _ = m.joined(result())
        _ = m.synced(.none, assignment: assignment)
        return m
    }

    @Test func newMemberRejoinsWithTheIDTheCoordinatorRequires() {
        var m = GroupMembership(rebalanceProtocol: .eager)
        #expect(m.join() == [.sendJoin(memberID: "", ownedPartitions: [], generation: .none)])
        #expect(m.joined(result(.memberIDRequired, member: "m-1", generation: -1))
            == [.sendJoin(memberID: "m-1", ownedPartitions: [], generation: .none)])
        #expect(m.joined(result()) == [.sendSync(generation: 1, memberID: "m-1", assignments: [:])])
        #expect(m.synced(.none, assignment: [F.tp(0), F.tp(1)])
            == [.assigned([F.tp(0), F.tp(1)]), .startHeartbeats(generation: 1, memberID: "m-1")])
        #expect(m.phase == .stable)
        #expect(m.owned == [F.tp(0), F.tp(1)])
    }

    @Test func theLeaderComputesTheAssignmentBeforeSyncing() {
        var m = GroupMembership(rebalanceProtocol: .eager)
        _ = m.join()
        let members = [GroupJoinMember(memberID: "m-1", groupInstanceID: nil, metadata: [1])]
        var leaderResult = result(leader: "m-1")
        leaderResult.members = members
        #expect(m.joined(leaderResult) == [.computeAssignment(protocolName: "range", members: members)])
        #expect(m.phase == .assigning)
        #expect(m.leaderAssigned(["m-1": [9]]) == [.sendSync(generation: 1, memberID: "m-1", assignments: ["m-1": [9]])])
    }

    @Test func eagerMembersRevokeEverythingBeforeRejoining() {
        var m = stable(.eager, assignment: [F.tp(0), F.tp(1)])
        #expect(m.heartbeatAnswered(.rebalanceInProgress, generation: 1)
            == [.revoke([F.tp(0), F.tp(1)]), .sendJoin(memberID: "m-1", ownedPartitions: [], generation: 1)])
        _ = m.joined(result(generation: 2))
        #expect(m.synced(.none, assignment: [F.tp(1)]) == [.assigned([F.tp(1)]), .startHeartbeats(generation: 2, memberID: "m-1")])
    }

    @Test func cooperativeMembersKeepPartitionsAndRevokeOnlyWhatMovesThenRejoin() {
        var m = stable(.cooperative, assignment: [F.tp(0), F.tp(1), F.tp(2)])
        #expect(m.heartbeatAnswered(.rebalanceInProgress, generation: 1)
            == [.sendJoin(memberID: "m-1", ownedPartitions: [F.tp(0), F.tp(1), F.tp(2)], generation: 1)])
        _ = m.joined(result(generation: 2))
        // Phase one: partition 2 moves away; the member revokes it and rejoins at once.
        #expect(m.synced(.none, assignment: [F.tp(0), F.tp(1)])
            == [.revoke([F.tp(2)]), .sendJoin(memberID: "m-1", ownedPartitions: [F.tp(0), F.tp(1)], generation: 2)])
        _ = m.joined(result(generation: 3))
        // Phase two: nothing more moves; the member is stable again without re-assigning 0 and 1.
        #expect(m.synced(.none, assignment: [F.tp(0), F.tp(1)]) == [.startHeartbeats(generation: 3, memberID: "m-1")])
    }

    @Test func aLostMembershipLosesPartitionsWithoutCommittingAndJoinsAsNew() {
        for code in [KafkaErrorCode.unknownMemberID, .illegalGeneration] {
            var m = stable(.cooperative, assignment: [F.tp(0)])
            #expect(m.heartbeatAnswered(code, generation: 1)
                == [.lose([F.tp(0)]), .sendJoin(memberID: "", ownedPartitions: [], generation: .none)])
            #expect(m.memberID == "")
        }
    }

    @Test func coordinatorErrorsRefindTheCoordinatorAndRetryTheStep() {
        var m = GroupMembership(rebalanceProtocol: .eager)
        _ = m.join()
        #expect(m.joined(result(.notCoordinator))
            == [.findCoordinator, .sendJoin(memberID: "", ownedPartitions: [], generation: .none)])
        _ = m.joined(result())
        #expect(m.synced(.coordinatorLoadInProgress, assignment: [])
            == [.findCoordinator, .sendJoin(memberID: "m-1", ownedPartitions: [], generation: 1)])
        var s = stable(.eager, assignment: [F.tp(0)])
        #expect(s.heartbeatAnswered(.coordinatorNotAvailable, generation: 1) == [.findCoordinator])
        #expect(s.coordinatorUnreachable() == [.findCoordinator])
        #expect(s.phase == .stable)
    }

    @Test func syncDuringARebalanceRejoins() {
        var m = GroupMembership(rebalanceProtocol: .eager)
        _ = m.join()
        _ = m.joined(result())
        #expect(m.synced(.rebalanceInProgress, assignment: []) == [.sendJoin(memberID: "m-1", ownedPartitions: [], generation: 1)])
    }

    @Test func aFencedInstanceFailsAndLosesItsPartitions() {
        var m = stable(.eager, assignment: [F.tp(3)])
        #expect(m.heartbeatAnswered(.fencedInstanceID, generation: 1) == [.lose([F.tp(3)]), .fail(.fencedInstanceID)])
        #expect(m.phase == .failed)
        #expect(m.join() == [])
    }

    @Test func fatalJoinErrorsFail() {
        var m = GroupMembership(rebalanceProtocol: .eager)
        _ = m.join()
        #expect(m.joined(result(.inconsistentGroupProtocol)) == [.fail(.inconsistentGroupProtocol)])
    }

    @Test func staleHeartbeatAnswersAreIgnored() {
        var m = stable(.eager, assignment: [F.tp(0)])
        #expect(m.heartbeatAnswered(.illegalGeneration, generation: 0) == [])
        #expect(m.owned == [F.tp(0)])
    }

    @Test func leavingRevokesThenLeavesButAStaticMemberDoesNotSendLeave() {
        var m = stable(.cooperative, assignment: [F.tp(0)])
        #expect(m.leave() == [.revoke([F.tp(0)]), .sendLeave(memberID: "m-1")])
        #expect(m.leave() == [])
        var s = GroupMembership(rebalanceProtocol: .eager, groupInstanceID: "host-1")
        _ = s.join()
        _ = s.joined(result())
        _ = s.synced(.none, assignment: [F.tp(0)])
        #expect(s.leave() == [.revoke([F.tp(0)])])
    }
}

@Suite("ConsumerProtocolCodec")
struct GroupProtocolCodecTests {
    typealias F = AssignorFixture

    @Test func subscriptionRoundTripsAtVersionThreeWithOwnedPartitionsAndGeneration() throws {
        let bytes = ConsumerProtocolCodec.encodeSubscription(
            topics: [F.topic, F.other], ownedPartitions: [F.tp(2), F.tp(0), F.tp(1, F.other)], generation: 7,
            userData: nil)
        #expect(Array(bytes.prefix(2)) == [0, 3])
        let decoded = try ConsumerProtocolCodec.decodeSubscription(memberID: "m", groupInstanceID: nil, metadata: bytes)
        #expect(decoded.topics == [F.topic, F.other])
        #expect(Set(decoded.ownedPartitions) == [F.tp(0), F.tp(2), F.tp(1, F.other)])
        #expect(decoded.generation == 7)
        #expect(decoded.subscriptionVersion == 3)
    }

    @Test func aVersionZeroSubscriptionAsKafkaPythonSendsDecodes() throws {
        // version 0 | topics ["events"] | user data null
        let bytes: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 6] + Array("events".utf8) + [0xff, 0xff, 0xff, 0xff]
        let decoded = try ConsumerProtocolCodec.decodeSubscription(memberID: "kp", groupInstanceID: nil, metadata: bytes)
        #expect(decoded.topics == [F.topic])
        #expect(decoded.ownedPartitions.isEmpty)
        #expect(decoded.generation == .none)
        #expect(decoded.subscriptionVersion == 0)
    }

    @Test func generationComesFromCooperativeStickyUserDataBeforeVersionTwo() throws {
        var sub = ConsumerProtocolSubscription(topics: ["events"], userData: [0, 0, 0, 9])
        sub.ownedPartitions = [.init(topic: "events", partitions: [1])]
        let decoded = try ConsumerProtocolCodec.decodeSubscription(
            memberID: "m", groupInstanceID: nil, metadata: sub.encodedVersionPrefixed(version: 1))
        #expect(decoded.generation == 9)
        #expect(decoded.ownedPartitions == [F.tp(1)])
    }

    @Test func assignmentRoundTripsAndEmptyBytesMeanNothing() throws {
        let bytes = ConsumerProtocolCodec.encodeAssignment([F.tp(1), F.tp(0), F.tp(0, F.other)], version: 0)
        #expect(Array(bytes.prefix(2)) == [0, 0])
        #expect(try ConsumerProtocolCodec.decodeAssignment(bytes) == [F.tp(0, F.other), F.tp(0), F.tp(1)])
        #expect(try ConsumerProtocolCodec.decodeAssignment([]) == [])
    }

    @Test func garbageIsATypedErrorNotACrash() {
        #expect(throws: WireError.self) { try ConsumerProtocolCodec.decodeAssignment([0, 1, 0]) }
        #expect(throws: WireError.self) {
            try ConsumerProtocolCodec.decodeSubscription(memberID: "m", groupInstanceID: nil, metadata: [0])
        }
    }
}
