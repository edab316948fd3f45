import Foundation
import Logging
import ServiceLifecycle
import SluiceBroker
import SluiceCore
import SluiceRaft
import SluiceRaftStorage
import Synchronization

/// A 3-voter Raft group in this process over loopback TCP, each node with its own WAL on the
/// same disk: committed proposals per second and commit latency (propose → applied on the
/// leader) with 1 and 64 concurrent proposers of 100-byte entries, beside the raw
/// write+fdatasync rate of that disk. One proposer pays two fsyncs in series (leader, then
/// followers) plus the round trips per entry; many proposers share each fsync (group commit).
enum RaftBenchmark: BenchmarkSuite {
    static let name = "raft"
    static let summary = "3-node Raft over loopback TCP: commits/s and commit latency vs raw fsync rate"

    static let entryBytes = 100
    static let runDuration: Duration = .seconds(3)

    static func run(_ report: inout BenchmarkReport) async throws {
        let root = (ProcessInfo.processInfo.environment["SLUICE_BENCH_DIR"] ?? NSTemporaryDirectory())
            + "/sluice-bench-raft-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("  data directory: \(root)")
        let fsyncRate = try StorageBenchmark.rawFsyncRate(path: root + "/fsync-probe")
        let fsyncMs = 1000 / fsyncRate

        for proposers in [1, 64] {
            let result = try await measure(root: root + "/group-\(proposers)", proposers: proposers)
            report.add("committed proposals/s, \(proposers) proposer\(proposers > 1 ? "s" : "")", result.perSecond,
                       "ops/s", reference: ("raw write+fdatasync", fsyncRate))
            report.add("commit latency p50, \(proposers) proposer\(proposers > 1 ? "s" : "")", result.p50Ms, "ms",
                       reference: ("one raw fdatasync", fsyncMs))
            report.add("commit latency p99, \(proposers) proposer\(proposers > 1 ? "s" : "")", result.p99Ms, "ms",
                       reference: ("one raw fdatasync", fsyncMs))
        }
    }

    /// Counts applied entries; its snapshot is empty (the benchmark measures the log).
    actor CountingStateMachine: RaftStateMachine {
        var last: RaftIndex = .zero
        func apply(_ entries: [RaftEntry]) { last = entries.last?.index ?? last }
        func snapshot() -> (index: RaftIndex, data: [UInt8]) { (last, []) }
        func restore(_ snapshot: RaftSnapshot) { last = snapshot.index }
    }

    struct Result {
        var perSecond: Double
        var p50Ms: Double
        var p99Ms: Double
    }

    static func measure(root: String, proposers: Int) async throws -> Result {
        var logger = Logger(label: "sluice.bench.raft")
        logger.logLevel = .error
        let ids: [NodeID] = [1, 2, 3]
        var servers: [NodeID: InterNodeServer] = [:]
        let slots = Dictionary(uniqueKeysWithValues: ids.map { ($0, BenchDriverSlot()) })
        for id in ids {
            var registry = InterNodeHandlerRegistry()
            let slot = slots[id]!
            registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
                await slot.driver?.receive(try RaftWireCodec.decode(header: request.header, body: request.body))
                return nil
            }
            servers[id] = try await InterNodeServer.bind(.init(host: "127.0.0.1", port: 0), registry: registry,
                                                          logger: logger)
        }
        let peers = servers.mapValues { HostPort(host: "127.0.0.1", port: $0.port) }
        var groups: [ServiceGroup] = []
        var drivers: [RaftDriver] = []
        for id in ids {
            let transport = RaftTransport(id: id, peers: peers, logger: logger)
            let store = try FileRaftLogStore(directory: root + "-node\(id)")
            let driver = RaftDriver(
                configuration: .init(id: id, members: RaftConfiguration(voters: ids), tickInterval: .milliseconds(100)),
                store: store, sink: transport, stateMachine: CountingStateMachine(), logger: logger)
            slots[id]!.driver = driver
            drivers.append(driver)
            groups.append(ServiceGroup(services: [servers[id]!, transport, driver], logger: logger))
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for serviceGroup in groups { group.addTask { try await serviceGroup.run() } }
            defer { group.cancelAll() }
            let leader = try await waitForLeader(drivers)
            // Warm up: connections open, the leader's no-op entry committed.
            for _ in 0..<20 { _ = try await leader.propose([UInt8](repeating: 7, count: entryBytes)) }
            let start = ContinuousClock.now
            let deadline = start + runDuration
            let latencies = try await withThrowingTaskGroup(of: [Duration].self) { workers in
                for _ in 0..<proposers {
                    workers.addTask {
                        var mine: [Duration] = []
                        let entry = [UInt8](repeating: 7, count: entryBytes)
                        while ContinuousClock.now < deadline {
                            let t0 = ContinuousClock.now
                            _ = try await leader.propose(entry)
                            mine.append(ContinuousClock.now - t0)
                        }
                        return mine
                    }
                }
                return try await workers.reduce(into: [Duration]()) { $0 += $1 }.sorted()
            }
            let elapsed = ContinuousClock.now - start
            func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
            func percentile(_ p: Double) -> Double { ms(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
            return Result(perSecond: Double(latencies.count) / (ms(elapsed) / 1000),
                          p50Ms: percentile(0.50), p99Ms: percentile(0.99))
        }
    }

    static func waitForLeader(_ drivers: [RaftDriver]) async throws -> RaftDriver {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            for d in drivers where await d.isLeader { return d }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }
}

/// Lets a listener bound before its driver exists (port 0) forward to it.
final class BenchDriverSlot: Sendable {
    private let slot = Mutex<RaftDriver?>(nil)
    var driver: RaftDriver? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
