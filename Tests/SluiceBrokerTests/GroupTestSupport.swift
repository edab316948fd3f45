import Logging
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import Synchronization

/// A metadata log in memory for the group coordinator's driver: it applies every proposal to a
/// real image published in a `MetadataView`, remembers the proposals in order, and can hold
/// proposals (to see what queues meanwhile) or fail the next one (leadership lost).
actor FakeMetadataLog: MetadataLog {
    struct Lost: Error {}

    let view: MetadataView
    private var image: MetadataImage
    private var index: UInt64 = 0
    /// Every committed payload, in order.
    private(set) var proposals: [[UInt8]] = []
    private var holding = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var failures = 0

    init(view: MetadataView, image: MetadataImage = .empty) {
        self.view = view
        self.image = image
        view.publish(image: image)
    }

    func propose(_ payload: [UInt8]) async throws -> RaftIndex {
        if failures > 0 {
            failures -= 1
            throw Lost()
        }
        if holding { await withCheckedContinuation { held.append($0) } }
        index += 1
        if payload.isEmpty {
            image.markApplied(index: RaftIndex(index), term: RaftTerm(1))
        } else {
            proposals.append(payload)
            image.applyCommitted(payload: payload, index: RaftIndex(index), term: RaftTerm(1))
        }
        view.publish(image: image)
        return RaftIndex(index)
    }

    /// Proposals from now on wait until `release()`.
    func hold() { holding = true }
    var heldCount: Int { held.count }
    func release() {
        holding = false
        let waiting = held
        held.removeAll()
        for continuation in waiting { continuation.resume() }
    }
    /// The next `count` proposals fail.
    func failNext(_ count: Int = 1) { failures = count }

    /// The records of every committed entry, one array per entry.
    func entries() throws -> [[MetadataRecord]] {
        try proposals.map { try MetadataRecordBatch.decode($0).records }
    }
}

/// A group coordinator service over a `FakeMetadataLog`, its proposer and timer running, with
/// a clock the test moves.
struct GroupServiceHarness {
    let log: FakeMetadataLog
    let view: MetadataView
    let service: GroupCoordinatorService
    let clock: TestClock

    static func with(options: GroupOptions = GroupOptions(), image: MetadataImage = .empty,
                     _ body: (GroupServiceHarness) async throws -> Void) async throws {
        let view = MetadataView()
        view.publish(controllerID: 1)
        let log = FakeMetadataLog(view: view, image: image)
        let clock = TestClock()
        var logger = Logger(label: "group-test")
        logger.logLevel = .warning
        let service = GroupCoordinatorService(nodeID: 1, log: log, view: view, options: options, logger: logger,
                                              nowMs: { clock.nowMs }, wallMs: { clock.nowMs },
                                              tickIntervalMs: 10)
        await service.activate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await body(GroupServiceHarness(log: log, view: view, service: service, clock: clock))
            group.cancelAll()
        }
    }

    /// Waits (bounded) until `condition` holds; the waiting is synchronisation, not an assertion.
    func eventually(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<500 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition()
    }

    static func commit(_ group: String, _ topic: String, _ partition: Int32, _ offset: Int64) -> OffsetCommitInput {
        OffsetCommitInput(groupID: group, generationID: .none, memberID: "",
                          partitions: [OffsetCommitPartition(topic: topic, partition: PartitionIndex(partition), offset: Offset(offset))])
    }

    static func join(_ group: String, member: String = "", instance: String? = nil, sessionMs: Int32 = 10_000,
                     rebalanceMs: Int32 = 60_000) -> JoinGroupInput {
        JoinGroupInput(groupID: group, memberID: member, groupInstanceID: instance, protocolType: "consumer",
                       protocols: [GroupProtocol(name: "range", metadata: [0, 1])], sessionTimeoutMs: sessionMs,
                       rebalanceTimeoutMs: rebalanceMs, clientID: "c", clientHost: "/127.0.0.1", requireKnownMemberID: false)
    }
}

/// Milliseconds the test moves by hand.
final class TestClock: Sendable {
    private let ms = Atomic<Int64>(1_000_000)
    var nowMs: Int64 { ms.load(ordering: .relaxed) }
    func advance(_ delta: Int64) { ms.add(delta, ordering: .relaxed) }
}
