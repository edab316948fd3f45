import Logging
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceWire
import Synchronization
import Testing

/// The runner's tick, with leadership scripted.
@Suite("Controller runner")
struct ControllerRunnerTests {
    /// Leadership the test sets; no changes are ever announced (as when leadership stays put).
    final class ScriptedLeadership: MetadataLeadership {
        let leading = Mutex(true)
        let leadershipChanges = AsyncStream<RaftLeadership> { _ in }
        var isLeader: Bool { leading.withLock { $0 } }
        func handOverLeadership() async throws {}
    }

    struct Harness {
        let log: FakeMetadataLog
        let leadership: ScriptedLeadership
        let controller: ControllerService
        let groups: GroupCoordinatorService
        let runner: ControllerRunner
    }

    static func harness() async -> Harness {
        let view = MetadataView()
        let log = FakeMetadataLog(view: view)
        let clock = TestClock()
        let leadership = ScriptedLeadership()
        let controller = ControllerService(nodeID: 1, log: log, view: view, options: ControllerOptions(), logger: testLogger,
                                           nowMs: { clock.nowMs })
        let groups = GroupCoordinatorService(nodeID: 1, log: log, view: view, options: GroupOptions(), logger: testLogger,
                                             nowMs: { clock.nowMs }, wallMs: { clock.nowMs })
        let runner = ControllerRunner(nodeID: 1, driver: leadership, controller: controller, groups: groups, view: view,
                                      tickInterval: .milliseconds(500), logger: testLogger)
        await controller.activate()
        await groups.activate()
        return Harness(log: log, leadership: leadership, controller: controller, groups: groups, runner: runner)
    }

    static let heartbeat = BrokerHeartbeat(nodeID: 1, incarnation: KafkaUUID(high: 1, low: 1),
                                           clientEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9092),
                                           interNodeEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 9093))

    @Test func aControllerDroppedAfterAFailedProposalIsActivatedAgainByTheTickWhileThisNodeLeads() async throws {
        let h = await Self.harness()
        await h.log.failNext()
        #expect(await h.controller.heartbeat(Self.heartbeat) == nil)
        #expect(await !h.controller.isActive)
        await h.runner.tick()
        #expect(await h.controller.isActive)
        #expect(await h.groups.isActive)
        // And it decides again: the broker registers.
        #expect(await h.controller.heartbeat(Self.heartbeat)?.isFenced == true)
        #expect(try await h.log.entries().last?.map(\.kind) == [.registerBroker])
    }

    @Test func theTickDoesNotActivateTheControllerOnANodeThatNoLongerLeads() async {
        let h = await Self.harness()
        await h.log.failNext()
        _ = await h.controller.heartbeat(Self.heartbeat)
        h.leadership.leading.withLock { $0 = false }
        await h.runner.tick()
        #expect(await !h.controller.isActive)
    }

    @Test func anActivationThatOutlivesItsLeadershipInstallsNoController() async {
        let h = await Self.harness()
        await h.controller.deactivate()
        await h.log.hold()
        let activation = Task { await h.controller.activate() }
        // Wait until the activation's entry is proposing, then lose leadership meanwhile.
        for _ in 0..<500 where await h.log.heldCount == 0 { try? await Task.sleep(for: .milliseconds(5)) }
        await h.controller.deactivate()
        await h.log.release()
        await activation.value
        #expect(await !h.controller.isActive)
    }
}
