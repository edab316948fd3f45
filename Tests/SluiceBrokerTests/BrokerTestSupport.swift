import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage
import SluiceWire
import Synchronization
import Testing

/// A metadata log that commits every proposal at once into the node's real state machine.
/// Test seam only: it stands in for the Raft driver so the Kafka layer can be tested alone.
final class InstantMetadataLog: MetadataLog {
    private let index = Mutex<UInt64>(0)
    let machine: MetadataStateMachine
    init(machine: MetadataStateMachine) { self.machine = machine }

    func propose(_ payload: [UInt8]) async throws -> RaftIndex {
        let next = index.withLock { $0 += 1; return $0 }
        await machine.apply([(RaftIndex(next), RaftTerm(1), payload)])
        // The replicas follow the image on their own; tests act on them at once.
        await machine.partitions.waitReconciled(through: RaftIndex(next))
        return RaftIndex(next)
    }
}

/// A single broker's partitions have no followers, so their ISR never changes.
struct NoISRChanges: ISRChangeSubmitting {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer {
        Issue.record("a single-node test broker proposed an ISR change: \(proposal)")
        return .rejected
    }

    /// A sole replica has nobody to hand leadership to; the controller would refuse.
    func reportDamage(_ damage: DamageReport, for partition: TopicPartition) async -> Bool { false }
}

/// One broker's Kafka layer on a real socket and real files, with instant metadata.
struct TestBroker {
    let port: Int
    let controller: ControllerService
    let services: BrokerServices
    let directory: String

    /// Runs `body` against a fresh broker. With `dataDirectory` the broker uses (and keeps)
    /// that directory, so a second call on it is a restart of the same node's logs; without,
    /// a temporary directory is created and removed.
    static func withBroker(dataDirectory: String? = nil, _ body: (TestBroker) async throws -> Void) async throws {
        let directory = dataDirectory ?? NSTemporaryDirectory() + "sluice-broker-\(UUID().uuidString)"
        defer { if dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var config = NodeConfig()
        config.node.dataDirectory = directory
        let logs = LogManager(fileSystem: RealFileSystem(), dataDirectory: directory, defaultConfig: config.log, ioThreads: 2,
                              now: { Int64(Date().timeIntervalSince1970 * 1000) })
        let partitions = PartitionManager(
            nodeID: 1, logs: logs, defaultLogConfig: config.log,
            settings: .init(fetcher: .init(nodeID: 1)), isrChanges: NoISRChanges(), group: MultiThreadedEventLoopGroup.singleton,
            nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }, logger: logger)
        // Running before any proposal: InstantMetadataLog waits for the replicas to follow.
        let partitionsRun = Task { try await partitions.run() }
        defer { partitionsRun.cancel() }
        let view = MetadataView()
        let machine = MetadataStateMachine(view: view, partitions: partitions, logger: logger)
        let log = InstantMetadataLog(machine: machine)
        let controller = ControllerService(nodeID: 1, log: log, view: view, options: ControllerOptions(), logger: logger,
                                           nowMs: { Int64(Date().timeIntervalSince1970 * 1000) })
        await controller.activate()
        view.publish(controllerID: 1)  // as ControllerRunner does on the leader
        var groupOptions = GroupOptions()
        groupOptions.initialRebalanceDelayMs = 100  // a group of one forms quickly
        let groups = GroupCoordinatorService(nodeID: 1, log: log, view: view, options: groupOptions, logger: logger,
                                             nowMs: { Int64(Date().timeIntervalSince1970 * 1000) },
                                             wallMs: { Int64(Date().timeIntervalSince1970 * 1000) })
        await groups.activate()
        // A one-voter quorum this node leads, as its Raft driver would report it.
        let services = BrokerServices(nodeID: 1, config: config, metadata: view, partitions: partitions, cluster: controller,
                                      groups: groups, raftQuorum: {
            RaftQuorumStatus(leader: 1, term: 3, isLeader: true, raftCommitIndex: 7,
                             voters: [.init(id: 1, matchIndex: 9)], learners: [])
        })
        let bound = Mutex<Int?>(nil)
        let server = KafkaServer(address: HostPort(host: "127.0.0.1", port: 0), dispatcher: RequestDispatcher(services: services),
                                 group: MultiThreadedEventLoopGroup.singleton, frameBytesMax: 1 << 20, connectionsMax: 16,
                                 logger: logger, onBound: { address in bound.withLock { $0 = address.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask { try await groups.run() }
            var port: Int?
            for _ in 0..<200 where port == nil {
                try await Task.sleep(for: .milliseconds(10))
                port = bound.withLock { $0 }
            }
            _ = await controller.heartbeat(BrokerHeartbeat(nodeID: 1, incarnation: KafkaUUID(high: 1, low: 1),
                                                           clientEndpoint: BrokerEndpoint(host: "127.0.0.1", port: UInt16(port!)),
                                                           interNodeEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 1)))
            _ = await controller.heartbeat(BrokerHeartbeat(nodeID: 1, incarnation: KafkaUUID(high: 1, low: 1),
                                                           clientEndpoint: BrokerEndpoint(host: "127.0.0.1", port: UInt16(port!)),
                                                           interNodeEndpoint: BrokerEndpoint(host: "127.0.0.1", port: 1)))
            try await body(TestBroker(port: port!, controller: controller, services: services, directory: directory))
            group.cancelAll()
        }
        await logs.closeAll()
    }
}

/// A blocking Kafka client over a plain socket, built on SluiceWire: sends one request and
/// reads its response frame. Enough to drive the broker from tests without a client library.
final class RawKafkaConnection {
    let fd: Int32
    private var correlation: Int32 = 0

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Sends `request` at `version`; returns the decoded response.
    func call<R: APIRequest>(_ request: R, version: Int16) throws -> R.Response {
        correlation += 1
        var body = ByteBufferAllocator().buffer(capacity: 256)
        RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationID: correlation, clientID: "test")
            .encode(into: &body, version: RequestHeader.version(apiKey: R.apiKey, apiVersion: version))
        request.encode(into: &body, version: version)
        var frame = ByteBufferAllocator().buffer(capacity: body.readableBytes + 4)
        frame.writeInteger(Int32(body.readableBytes))
        frame.writeBuffer(&body)
        sendRaw(Array(frame.readableBytesView))
        var payload = try readFrame()
        let header = try ResponseHeader(from: &payload, version: ResponseHeader.version(apiKey: R.apiKey, apiVersion: version))
        precondition(header.correlationID == correlation)
        return try R.Response(from: &payload, version: version)
    }

    /// The next response frame's payload; throws if the connection closed.
    func readFrame() throws -> ByteBuffer {
        let sizeBytes = try readExactly(4)
        let size = Int(Int32(bigEndian: sizeBytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        return ByteBuffer(bytes: try readExactly(size))
    }

    /// True if the broker closed the connection (read returns 0).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            guard n > 0 else { throw POSIXError(.ECONNRESET) }
            done += n
        }
        return bytes
    }
}

/// Runs blocking work on a Dispatch thread and awaits its result.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// A small tmpfs mounted for one test, so a real file system can be filled up (ENOSPC).
/// Mounting needs root (CAP_SYS_ADMIN); tests that need one are enabled by `isPermitted`.
final class TmpfsMount {
    struct MountError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "mount -t tmpfs failed: errno \(errno)" }
    }

    let path: String

    init(bytes: Int) throws {
        path = NSTemporaryDirectory() + "sluice-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let status = "size=\(bytes)".withCString { options in mount("tmpfs", path, "tmpfs", 0, options) }
        guard status == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: path)
            throw MountError(errno: code)
        }
    }

    deinit {
        // MNT_DETACH (2): a descriptor a test still holds must not leave the mount behind.
        umount2(path, 2)
        rmdir(path)
    }

    /// Whether this process may mount a tmpfs (tried once).
    static let isPermitted: Bool = (try? TmpfsMount(bytes: 1 << 16)) != nil
}
