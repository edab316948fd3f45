import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

/// How fencing, restarts and shutdown kinds change ISRs and elections (KRaft's rules, KIP-903),
/// and the stale-incarnation check of AlterPartition.
@Suite("Controller: ISR membership across fencing and restarts")
struct ControllerISRTests {
    static let t = Fixture.topic("t")
    static func tp(_ p: Int32) -> TopicPartition { TopicPartition(t, PartitionIndex(p)) }

    /// Three brokers and topic "t" with three partitions, replicas [1, 2, 3], [2, 3, 1] and
    /// [3, 1, 2]: each broker leads one.
    static func cluster(configs: [String: String?] = [:]) -> Controller {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.createTopics(
            [CreateTopicRequest(name: "t", numPartitions: 3, replicationFactor: 3, configs: configs)], validateOnly: false)
        precondition((0..<3).map { controller.image.partition(tp($0))!.leader } == [1, 2, 3])
        return controller
    }

    static func state(_ controller: Controller, _ p: Int32 = 0) -> PartitionState { controller.image.partition(tp(p))! }

    /// The leader of partition `p` shrinks its ISR to `isr`.
    static func shrink(_ controller: inout Controller, _ p: Int32 = 0, to isr: [NodeID]) {
        let state = state(controller, p)
        let output = controller.alterPartition(
            SluiceMetadata.AlterPartitionRequest(
                topic: t, partition: PartitionIndex(p), leaderID: state.leader,
                leaderIncarnation: controller.image.brokers[state.leader]!.incarnation, leaderEpoch: state.leaderEpoch,
                partitionEpoch: state.partitionEpoch, newISR: isr))
        precondition(output.records.count == 1, "shrink refused: \(output.result)")
    }

    static func heartbeat(_ id: Int32, incarnation: UInt64 = 1, clean: Bool = true) -> BrokerHeartbeat {
        var heartbeat = Fixture.heartbeat(id, incarnation: incarnation)
        heartbeat.cleanShutdown = clean
        return heartbeat
    }

    /// Keeps `alive` heartbeating (incarnation 1) at `nowMs`, then ticks.
    static func advance(_ controller: inout Controller, to nowMs: Int64, alive: [Int32]) -> ControllerOutput<[NodeID]> {
        for id in alive { _ = controller.brokerHeartbeat(Fixture.heartbeat(id), nowMs: nowMs) }
        return controller.tick(nowMs: nowMs)
    }

    // MARK: AlterPartition from an earlier process

    @Test func alterPartitionFromAnotherIncarnationOfTheLeaderIsStaleBrokerEpoch() {
        var controller = Self.cluster()
        let state = Self.state(controller)
        var request = SluiceMetadata.AlterPartitionRequest(
            topic: Self.t, partition: 0, leaderID: 1, leaderIncarnation: Fixture.incarnation(9),
            leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: [1, 2])
        let stale = controller.alterPartition(request)
        guard case .rejected(let code, let message) = stale.result else { Issue.record("accepted"); return }
        #expect(code == .staleBrokerEpoch && stale.batches.isEmpty)
        #expect(message.contains("incarnation"))
        request.leaderIncarnation = Fixture.incarnation(1)
        guard case .accepted(let changed) = controller.alterPartition(request).result else { Issue.record("refused"); return }
        #expect(changed.isr == [1, 2])
        request.leaderID = 7  // never registered
        guard case .rejected(.staleBrokerEpoch, _) = controller.alterPartition(request).result else {
            Issue.record("an unregistered leader was not refused as stale"); return
        }
    }

    // MARK: fencing

    @Test func fencingTakesTheBrokerOutOfEveryISRWithTheElectionInOneRecordEach() {
        var controller = Self.cluster()
        let output = Self.advance(&controller, to: 9_000, alive: [1, 3])
        #expect(output.result == [2])
        // One entry: the fence, then one change per partition, leadership and ISR together.
        #expect(output.batches.count == 1)
        #expect(output.records.map(\.kind) == [.fenceBroker, .partitionChange, .partitionChange, .partitionChange])
        #expect((0..<3).map { Self.state(controller, $0).isr } == [[1, 3], [3, 1], [3, 1]])
        #expect((0..<3).map { Self.state(controller, $0).leader } == [1, 3, 3])
        // Only the partition that changed leader got a new leader epoch.
        #expect((0..<3).map { Self.state(controller, $0).leaderEpoch } == [0, 1, 0])
        #expect(output.notices.isEmpty)
    }

    @Test func theSoleISRMemberStaysInTheISRWhenFencedAndThePartitionHasNoLeader() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        _ = Self.advance(&controller, to: 9_000, alive: [2, 3])
        let state = Self.state(controller)
        #expect(state.isr == [1] && state.leader == NodeID.none && !state.isrRestartedUnclean)
        #expect(controller.image.offlineReason(Self.tp(0))?.contains("no in-sync replica") == true)
        #expect(controller.image.offlineReason(Self.tp(1)) == nil)
        // Fencing it again changes nothing; its return (same process) makes it leader.
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 9_100)
        #expect(Self.state(controller).leader == 1 && Self.state(controller).isr == [1])
    }

    @Test func aFencedFollowerOfALeaderlessPartitionLeavesItsISR() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1, 2])
        // 1 dies first: 2 leads with ISR [2]; then 2 dies: ISR [2], no leader.
        _ = Self.advance(&controller, to: 9_000, alive: [2, 3])
        #expect(Self.state(controller).leader == 2 && Self.state(controller).isr == [2])
        _ = Self.advance(&controller, to: 18_000, alive: [3])
        #expect(Self.state(controller).leader == NodeID.none && Self.state(controller).isr == [2])
        // 1 returns: it is not in the ISR, so it does not lead (unclean election is off).
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 18_100)
        #expect(Self.state(controller).leader == NodeID.none)
    }

    // MARK: restarts (KIP-903)

    @Test func aRestartedBrokerLeavesEveryISRUntilItsLeaderAddsItBack() {
        var controller = Self.cluster()
        let output = controller.brokerHeartbeat(Self.heartbeat(2, incarnation: 2), nowMs: 1_000)
        #expect(output.result.isFenced)
        #expect(output.records.map(\.kind) == [.registerBroker, .partitionChange, .partitionChange, .partitionChange])
        #expect((0..<3).map { Self.state(controller, $0).isr } == [[1, 3], [3, 1], [3, 1]])
        // Still fenced: the leader cannot add it yet.
        let addBack = { (controller: Controller) in
            let state = Self.state(controller)
            return SluiceMetadata.AlterPartitionRequest(
                topic: Self.t, partition: 0, leaderID: 1, leaderIncarnation: Fixture.incarnation(1),
                leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: [1, 3, 2])
        }
        guard case .rejected(.ineligibleReplica, _) = controller.alterPartition(addBack(controller)).result else {
            Issue.record("a fenced broker was added to the ISR"); return
        }
        // Unfenced, it is a replica out of sync; its leader adds it once it has caught up.
        #expect(!controller.brokerHeartbeat(Self.heartbeat(2, incarnation: 2), nowMs: 1_100).result.isFenced)
        #expect(Self.state(controller, 1).leader == 3)
        guard case .accepted(let state) = controller.alterPartition(addBack(controller)).result else {
            Issue.record("the caught-up replica was not added back"); return
        }
        #expect(state.isr == [1, 3, 2])
    }

    @Test func aSoleISRMemberRestartedAfterACleanShutdownLeadsAgain() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: true), nowMs: 1_000)
        #expect(Self.state(controller).leader == NodeID.none && Self.state(controller).isr == [1])
        #expect(!Self.state(controller).isrRestartedUnclean)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: true), nowMs: 1_100)
        #expect(Self.state(controller).leader == 1 && Self.state(controller).leaderEpoch == 2)
        #expect(controller.image.offlineReason(Self.tp(0)) == nil)
    }

    @Test func aSoleISRMemberRestartedAfterAnUncleanShutdownIsNotElected() throws {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        // It crashed while leader and came back before its lease ran out.
        let restart = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_000)
        #expect(Self.state(controller).isrRestartedUnclean && Self.state(controller).leader == NodeID.none)
        // Leadership and the mark are one change; partitions where it was one of several only lose it.
        #expect(restart.records.count == 4)
        #expect(Self.state(controller, 1).isr == [2, 3] && !Self.state(controller, 1).isrRestartedUnclean)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_100)
        #expect(controller.image.isUnfenced(1))
        #expect(Self.state(controller).leader == NodeID.none)
        let reason = try #require(controller.image.offlineReason(Self.tp(0)))
        #expect(reason.contains("the only in-sync replica 1 restarted after an unclean shutdown"))
        #expect(reason.contains("unclean.leader.election.enable=true"))
        // A later clean restart does not bring back what the crash lost.
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 3, clean: true), nowMs: 1_200)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 3, clean: true), nowMs: 1_300)
        #expect(Self.state(controller).leader == NodeID.none && Self.state(controller).isrRestartedUnclean)
        // The mark survives a snapshot and replays on a follower.
        let image = controller.image
        #expect(try MetadataImage(snapshotBytes: image.snapshotBytes(), index: image.lastAppliedIndex, term: image.lastAppliedTerm) == image)
    }

    @Test func aSoleISRMemberOfATopicFlushedOnEveryAppendLeadsAgainAfterAnUncleanShutdown() {
        // flush.policy=always: an acknowledged record was on disk before it was acknowledged.
        var controller = Self.cluster(configs: ["flush.policy": "always"])
        Self.shrink(&controller, to: [1])
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_000)
        #expect(!Self.state(controller).isrRestartedUnclean)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_100)
        #expect(Self.state(controller).leader == 1)
    }

    @Test func anUncleanRestartMarksALeaderlessPartitionInOneChange() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        _ = Self.advance(&controller, to: 9_000, alive: [2, 3])
        let before = Self.state(controller)
        let output = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 9_100)
        let changes = output.records.compactMap { record -> PartitionChangeRecord? in
            if case .partitionChange(let change) = record, change.partition == 0 { return change }
            return nil
        }
        #expect(changes == [PartitionChangeRecord(
            topicID: controller.image.topic(named: Self.t)!.topicID, partition: 0,
            partitionEpoch: before.partitionEpoch.next, isrRestartedUnclean: true)])
    }

    // MARK: unclean.leader.election.enable

    @Test func enablingUncleanElectionElectsTheUncleanlyRestartedMemberAndSaysSo() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_000)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_100)
        let output = controller.alterTopicConfigs("t", ["unclean.leader.election.enable": "true"], validateOnly: false)
        #expect(output.result.error == .none)
        let state = Self.state(controller)
        #expect(state.leader == 1 && state.isr == [1] && !state.isrRestartedUnclean)
        #expect(output.notices.count == 1 && output.notices[0].contains("unclean leader election"))
        #expect(controller.image.offlineReason(Self.tp(0)) == nil)
    }

    @Test func withUncleanElectionALiveReplicaOutsideTheISRLeadsWhenNoISRMemberIsAlive() {
        var controller = Self.cluster(configs: ["unclean.leader.election.enable": "true"])
        Self.shrink(&controller, to: [1])
        let output = Self.advance(&controller, to: 9_000, alive: [2, 3])
        let state = Self.state(controller)
        #expect(state.leader == 2 && state.isr == [2] && state.leaderEpoch == 1)
        #expect(output.notices.count == 1 && output.notices[0].contains("t-0 is led by 2"))
        // Partitions with a live ISR member elect cleanly as before.
        #expect(Self.state(controller, 1).leader == 2 && Self.state(controller, 1).isr == [2, 3])
    }

    @Test func withUncleanElectionACleanlyRestartedSoleISRMemberIsWaitedForNotReplaced() {
        var controller = Self.cluster(configs: ["unclean.leader.election.enable": "true"])
        Self.shrink(&controller, to: [1])
        let restart = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: true), nowMs: 1_000)
        #expect(Self.state(controller).leader == NodeID.none && restart.notices.isEmpty)
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: true), nowMs: 1_100)
        #expect(Self.state(controller).leader == 1 && Self.state(controller).isr == [1])
    }

    @Test func withUncleanElectionAnUncleanlyRestartedSoleMemberLeadsWhenItReturnsAndIsReplacedWhenItDies() {
        var controller = Self.cluster(configs: ["unclean.leader.election.enable": "true"])
        Self.shrink(&controller, to: [1])
        _ = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_000)
        // Registered again, it is waited for: it has more of the log than any other replica.
        #expect(Self.state(controller).leader == NodeID.none && Self.state(controller).isrRestartedUnclean)
        var silent = controller
        let unfenced = controller.brokerHeartbeat(Self.heartbeat(1, incarnation: 2, clean: false), nowMs: 1_100)
        #expect(Self.state(controller).leader == 1 && !Self.state(controller).isrRestartedUnclean)
        #expect(unfenced.notices.count == 1)
        // Had it stayed silent, its lease would have run out and a live replica would lead.
        let expired = Self.advance(&silent, to: 10_000, alive: [2, 3])
        #expect(expired.result.isEmpty)  // it was fenced already, by its registration
        #expect(Self.state(silent).leader == 2 && Self.state(silent).isr == [2] && !Self.state(silent).isrRestartedUnclean)
        #expect(expired.notices.count == 1)
    }

    @Test func withUncleanElectionTheFirstReplicaToReturnLeadsAnOfflinePartition() {
        var controller = Self.cluster()
        Self.shrink(&controller, to: [1])
        _ = Self.advance(&controller, to: 9_000, alive: [])
        #expect(Self.state(controller).leader == NodeID.none)
        let output = controller.alterTopicConfigs("t", ["unclean.leader.election.enable": "true"], validateOnly: false)
        #expect(output.notices.isEmpty)  // nobody is alive to lead
        _ = controller.brokerHeartbeat(Fixture.heartbeat(3), nowMs: 9_100)
        #expect(Self.state(controller).leader == 3 && Self.state(controller).isr == [3])
    }

    @Test func withoutUncleanElectionAReplicaOutsideTheISRNeverLeads() {
        var controller = Self.cluster(configs: ["unclean.leader.election.enable": "false"])
        Self.shrink(&controller, to: [1])
        let output = Self.advance(&controller, to: 9_000, alive: [2, 3])
        #expect(Self.state(controller).leader == NodeID.none && output.notices.isEmpty)
        // Validating a change elects nobody.
        _ = controller.alterTopicConfigs("t", ["unclean.leader.election.enable": "true"], validateOnly: true)
        #expect(Self.state(controller).leader == NodeID.none)
    }

    @Test func incrementalAlterConfigsTurningUncleanElectionOnElectsALiveReplicaAtOnce() {
        var controller = Self.cluster(configs: ["unclean.leader.election.enable": "false"])
        Self.shrink(&controller, to: [1])
        _ = Self.advance(&controller, to: 9_000, alive: [2, 3])
        #expect(Self.state(controller).leader == NodeID.none)
        let output = controller.incrementalAlterTopicConfigs(
            "t", [(key: "unclean.leader.election.enable", operation: .set("true"))], validateOnly: false)
        #expect(output.result == .success && output.notices.count == 1)
        #expect(Self.state(controller).leader == 2 && Self.state(controller).isr == [2])
    }

    @Test func uncleanElectionConfigTakesOnlyBooleans() {
        var controller = Self.cluster()
        let output = controller.alterTopicConfigs("t", ["unclean.leader.election.enable": "yes"], validateOnly: false)
        #expect(output.result.error == .invalidConfig && output.batches.isEmpty)
        #expect(TopicConfigDefaults.standard[.uncleanLeaderElectionEnable] == "false")
    }

    // MARK: the image

    @Test func theUncleanRestartMarkIsRefusedOnAPartitionWithALeader() throws {
        var controller = Self.cluster()
        let id = controller.image.topic(named: Self.t)!.topicID
        #expect(throws: MetadataError.self) {
            try controller.image.apply(.partitionChange(PartitionChangeRecord(topicID: id, partition: 0, partitionEpoch: 1, isrRestartedUnclean: true)))
        }
        #expect(!Self.state(controller).isrRestartedUnclean)
    }
}
