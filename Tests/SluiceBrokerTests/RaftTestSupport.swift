import Foundation
import Logging
import NIOCore
import SluiceBroker
import ServiceLifecycle
import SluiceCore
import SluiceRaft
import SluiceRaftStorage
import Synchronization

/// A state machine that remembers every applied payload in order; its snapshot is that list.
actor RecordingStateMachine: RaftStateMachine {
    private(set) var applied: [[UInt8]] = []
    private(set) var lastIndex: RaftIndex = .zero
    private(set) var restores = 0

    func apply(_ entries: [RaftEntry]) {
        for e in entries {
            precondition(e.index > lastIndex, "applied out of order")
            applied.append(e.data)
            lastIndex = e.index
        }
    }

    func snapshot() -> (index: RaftIndex, data: [UInt8]) {
        var data: [UInt8] = []
        for payload in applied {
            data += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
        }
        return (lastIndex, data)
    }

    func restore(_ snapshot: RaftSnapshot) {
        var payloads: [[UInt8]] = []
        var i = 0
        let d = snapshot.data
        while i < d.count {
            let n = Int(d[i]) << 24 | Int(d[i + 1]) << 16 | Int(d[i + 2]) << 8 | Int(d[i + 3])
            payloads.append(Array(d[(i + 4)..<(i + 4 + n)]))
            i += 4 + n
        }
        applied = payloads
        lastIndex = snapshot.index
        restores += 1
    }
}

/// Forwards inbound Raft frames to whichever driver currently runs: the listener is bound
/// (port 0) before the drivers exist, because each driver's transport needs every port.
final class DriverSlot: Sendable {
    private let slot = Mutex<RaftDriver?>(nil)
    func set(_ driver: RaftDriver?) { slot.withLock { $0 = driver } }
    func get() -> RaftDriver? { slot.withLock { $0 } }
}

/// One node of a test cluster: real files in a temp directory, a real listener on 127.0.0.1.
final class RaftTestNode: @unchecked Sendable {
    // @unchecked: mutated only by the test's own task, between awaits.
    let id: NodeID
    let directory: String
    let slot = DriverSlot()
    var port = 0
    var server: InterNodeServer?
    var driver: RaftDriver?
    var transport: RaftTransport?
    var stateMachine = RecordingStateMachine()
    var task: Task<Void, any Error>?
    var group: ServiceGroup?

    init(id: NodeID, root: String) {
        self.id = id
        directory = root + "/node\(id)"
    }

    func registry() -> InterNodeHandlerRegistry {
        var registry = InterNodeHandlerRegistry()
        let slot = self.slot
        registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
            let message = try RaftWireCodec.decode(header: request.header, body: request.body)
            await slot.get()?.receive(message)
            return nil
        }
        return registry
    }

    func bind() async throws {
        let server = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: port), registry: registry(),
                                                    logger: testLogger)
        port = server.port
        self.server = server
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "sluice.test.raft")
    logger.logLevel = ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"] != nil ? .debug : .critical
    return logger
}()

/// Three (or more) Raft nodes in this process over loopback TCP and real files.
final class RaftTestCluster: @unchecked Sendable {
    let root: String
    let nodes: [RaftTestNode]
    let tickInterval: Duration
    let snapshotEntriesMax: Int

    init(size: Int = 3, tickInterval: Duration = .milliseconds(30), snapshotEntriesMax: Int = 10_000) async throws {
        precondition(size >= 1)
        root = FileManager.default.temporaryDirectory.appendingPathComponent("raftnet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let root = self.root
        nodes = (1...size).map { RaftTestNode(id: NodeID(Int32($0)), root: root) }
        self.tickInterval = tickInterval
        self.snapshotEntriesMax = snapshotEntriesMax
        for node in nodes { try await node.bind() }
        for node in nodes { try start(node) }
    }

    var members: RaftConfiguration { RaftConfiguration(voters: nodes.map(\.id)) }

    /// Opens the node's store and runs its listener, transport and driver in one task.
    func start(_ node: RaftTestNode) throws {
        let peers = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, HostPort(host: "127.0.0.1", port: $0.port)) })
        let transport = RaftTransport(id: node.id, peers: peers, logger: testLogger)
        let store = try FileRaftLogStore(directory: node.directory)
        let driver = RaftDriver(
            configuration: .init(id: node.id, members: members, tickInterval: tickInterval,
                                 snapshotEntriesMax: snapshotEntriesMax),
            store: store, sink: transport, stateMachine: node.stateMachine, logger: testLogger)
        node.slot.set(driver)
        node.driver = driver
        node.transport = transport
        // The order a node uses: on graceful shutdown the driver (last) stops first, handing
        // over leadership while the transport and listener still run.
        let group = ServiceGroup(services: [node.server!, transport, driver], logger: testLogger)
        node.group = group
        // A test's root task per node, so one node can be stopped while the others run.
        node.task = Task { try await group.run() }
    }

    /// Stops everything the node runs (listener included), like a crash that loses nothing
    /// synced.
    func stop(_ node: RaftTestNode) async {
        // Close the listener first: cancelling an accept loop that may still be handed a
        // connection makes NIO trap (see InterNodeServer.close).
        node.server?.close()
        node.task?.cancel()
        _ = try? await node.task?.value
        forget(node)
    }

    /// Stops the node as SIGTERM would: graceful shutdown of its service group.
    func stopGracefully(_ node: RaftTestNode) async throws {
        await node.group?.triggerGracefulShutdown()
        try await node.task?.value
        forget(node)
    }

    private func forget(_ node: RaftTestNode) {
        node.slot.set(nil)
        node.task = nil
        node.group = nil
        node.server = nil
        node.driver = nil
    }

    /// Restarts a stopped node from its files, on its old port, with a fresh state machine.
    func restart(_ node: RaftTestNode) async throws {
        node.stateMachine = RecordingStateMachine()
        try await node.bind()
        try start(node)
    }

    func shutdown() async {
        for node in nodes where node.task != nil { await stop(node) }
        try? FileManager.default.removeItem(atPath: root)
    }

    var running: [RaftTestNode] { nodes.filter { $0.driver != nil } }

    /// The one node that believes it leads, once exactly one running node does and every
    /// running node agrees on it.
    func waitForLeader(timeout: Duration = .seconds(10)) async throws -> RaftTestNode {
        var found: RaftTestNode?
        try await waitUntil(timeout: timeout, "a single agreed leader") {
            var leaders: [RaftTestNode] = []
            var views: Set<NodeID?> = []
            for node in self.running {
                if await node.driver!.isLeader { leaders.append(node) }
                views.insert(await node.driver!.leader)
            }
            guard leaders.count == 1, views == [leaders[0].id] else { return false }
            found = leaders[0]
            return true
        }
        return found!
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

func waitUntil(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut(what: what)
}

/// Proposes until accepted, following leader hints (what a client of the metadata log does).
func proposeOnLeader(_ cluster: RaftTestCluster, _ data: [UInt8]) async throws -> RaftIndex {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        let leader = try await cluster.waitForLeader()
        do {
            return try await leader.driver!.propose(data)
        } catch .notLeader, .leadershipLost, .leadershipTransferInProgress, .stopped {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    throw TimedOut(what: "a proposal to commit")
}
