import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceMetadata
import SluiceRaft
import SluiceRaftStorage
import SluiceReplication
import SluiceStorage
import SluiceWire
import Synchronization

/// One Sluice node, assembled from its configuration: the Raft metadata log and its driver, the
/// controller and the group coordinator, the partition logs, and the three listeners. `services` are run by one
/// `ServiceGroup`, which starts them in order and shuts them down gracefully in reverse.
public struct SluiceNode: Sendable {
    public let services: [any Service]
    public let logs: LogManager
    let view: MetadataView
    let nodeID: NodeID
    let dataDirectory: String

    /// Ready to serve clients (see `ReadinessProbe`).
    public var isReady: Bool { readiness.isServing }
    let readiness: ReadinessProbe

    /// Written in the data directory after every log closed cleanly (`markCleanShutdown`);
    /// removed at start, so its presence means the previous process stopped cleanly.
    static let cleanShutdownMarker = "clean-shutdown"

    /// Records that this process stopped cleanly: call after `logs.closeAll()`.
    public func markCleanShutdown() throws {
        let fs = RealFileSystem()
        let file = try fs.open(dataDirectory + "/" + Self.cleanShutdownMarker, create: true)
        try file.sync()
        file.close()
        try fs.syncDirectory(dataDirectory)
    }

    /// Milliseconds of a monotonic clock (leases, Raft ticks); wall time is only for records.
    static func monotonicMs() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
    static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// - Parameter tls: the contexts built from `config.tls`; nil builds them here (and throws
    ///   `NodeTLS.LoadError` if the files are missing, unreadable or do not match).
    public init(config: NodeConfig, tls: NodeTLS? = nil, logger: Logger) async throws {
        let tls = try tls ?? NodeTLS(config.tls)
        let id = config.node.id
        nodeID = id
        dataDirectory = config.node.dataDirectory
        let group = MultiThreadedEventLoopGroup.singleton
        let fs = RealFileSystem()
        try fs.createDirectory(config.node.dataDirectory)

        let logs = LogManager(fileSystem: fs, dataDirectory: config.node.dataDirectory, defaultConfig: config.log,
                              now: Self.wallMs, log: { logger.info("\($0)") })
        self.logs = logs
        // Whether the previous process of this node shut down cleanly (its logs flushed and
        // closed): the controller elects a restarted sole in-sync replica only then.
        let marker = config.node.dataDirectory + "/" + Self.cleanShutdownMarker
        // A node that never ran has nothing to have lost.
        let cleanShutdown = fs.fileExists(marker) || !fs.fileExists(config.node.dataDirectory + "/meta")
        if fs.fileExists(marker) {
            try fs.remove(marker)
            try fs.syncDirectory(config.node.dataDirectory)
        }
        var system = SystemRandomNumberGenerator()
        let incarnation = KafkaUUID(high: system.next(), low: system.next())
        // Checked by `validate()`: an IP literal.
        let source = try config.listeners.interNodeSource.map { try SocketAddress(ipAddress: $0, port: 0) }
        let client = InterNodeClient(group: group, frameBytesMax: config.limits.requestBytesMax, timeout: .seconds(5),
                                     clientID: "node-\(id)", tls: tls.interNodeClient, source: source)
        let voters = config.effectiveVoters
        let voterAddresses = Dictionary(uniqueKeysWithValues: voters.map { ($0.id, $0.address) })
        let view = MetadataView()
        self.view = view
        // The partitions need the controller for ISR changes; the controller needs the metadata
        // log, which needs the partitions: the relay is connected once the controller exists.
        let isrChanges = ISRChangeRelay()
        let replication = config.replication
        let metrics = NodeMetrics()
        let breakAcksAll = Self.testOnlyBreakage == "acks-all-at-append"
        if breakAcksAll {
            logger.critical("SLUICE_TEST_BREAKAGE=acks-all-at-append: acks=all is answered before replication, so acknowledged records WILL be lost (a test of the fault harness, never for use)")
        }
        let partitions = PartitionManager(
            nodeID: id, incarnation: incarnation, logs: logs, defaultLogConfig: config.log,
            settings: .init(
                replication: ReplicationOptions(replicaLagTimeMaxMs: replication.lagTimeMaxMs),
                fetcher: .init(nodeID: id, fetchWaitMax: .milliseconds(replication.fetchWaitMaxMs),
                               fetchPartitionBytesMax: replication.fetchPartitionBytesMax,
                               fetchResponseBytesMax: replication.fetchResponseBytesMax,
                               fetchBackoff: .milliseconds(replication.fetchBackoffMs),
                               frameBytesMax: config.limits.requestBytesMax, tls: tls.interNodeClient, source: source),
                testOnlyAcksAllAtAppend: breakAcksAll, metrics: metrics),
            isrChanges: isrChanges, group: group, nowMs: Self.monotonicMs, logger: logger)
        let machine = MetadataStateMachine(view: view, partitions: partitions, logger: logger)

        let store = try FileRaftLogStore(directory: config.node.dataDirectory + "/meta")
        var transportConfiguration = RaftTransport.Configuration()
        transportConfiguration.firstHandler = tls.interNodeHandlerFactory
        transportConfiguration.source = source
        let transport = RaftTransport(id: id, peers: voterAddresses, configuration: transportConfiguration, logger: logger,
                                      group: group)
        let driver = RaftDriver(configuration: .init(id: id, members: RaftConfiguration(voters: voters.map(\.id))),
                                store: store, sink: transport, stateMachine: machine, logger: logger)

        var options = ControllerOptions()
        options.defaultPartitions = config.topics.defaultPartitions
        options.defaultReplicationFactor = config.topics.defaultReplicationFactor
        options.brokerSessionTimeoutMs = config.cluster.brokerSessionTimeoutMs
        options.autoLeaderRebalance = config.cluster.autoLeaderRebalance
        options.leaderImbalanceCheckIntervalMs = config.cluster.leaderImbalanceCheckIntervalMs
        options.leaderImbalancePerBrokerPercentage = config.cluster.leaderImbalancePerBrokerPercentage
        options.topicConfigDefaults = config.topicConfigDefaults
        let controller = ControllerService(nodeID: id, log: RaftMetadataLog(driver: driver), view: view, options: options,
                                           logger: logger, nowMs: Self.monotonicMs)
        isrChanges.connect(AlterPartitionSender(nodeID: id, incarnation: incarnation, controller: controller,
                                                view: view, client: client, voters: voterAddresses, logger: logger))

        let groups = GroupCoordinatorService(nodeID: id, log: RaftMetadataLog(driver: driver), view: view, options: config.groups.options,
                                             logger: logger, nowMs: Self.monotonicMs, wallMs: Self.wallMs)

        var registry = InterNodeHandlerRegistry()
        driver.register(in: &registry)
        ControllerRPC.register(in: &registry, controller: controller)
        ReplicaFetchRPC.register(in: &registry, partitions: partitions, waitMax: .seconds(30))
        var interNodeConfiguration = InterNodeServer.Configuration(
            host: config.listeners.interNode.host, port: config.listeners.interNode.port,
            frameBytesMax: config.limits.requestBytesMax, firstHandler: tls.interNodeHandlerFactory)
        interNodeConfiguration.metrics = metrics
        let interNode = try await InterNodeServer.bind(interNodeConfiguration, registry: registry, logger: logger, group: group)

        let cluster = NodeClusterControl(nodeID: id, local: controller, view: view, client: client, voters: voterAddresses,
                                         logger: logger, partitions: partitions)
        let services = BrokerServices(nodeID: id, config: config, metadata: view, partitions: partitions, cluster: cluster,
                                      groups: groups, metrics: metrics, raftQuorum: { await driver.quorumStatus() })
        let advertised = config.listeners.advertisedClient ?? config.listeners.client
        let heartbeat = BrokerHeartbeat(
            nodeID: id, incarnation: incarnation,
            clientEndpoint: BrokerEndpoint(host: advertised.host, port: UInt16(advertised.port)),
            interNodeEndpoint: BrokerEndpoint(host: config.listeners.interNode.host, port: UInt16(config.listeners.interNode.port)))

        let readiness = ReadinessProbe(view: view, nodeID: id, incarnation: heartbeat.incarnation, partitions: partitions)
        self.readiness = readiness
        var clientListener = KafkaServer(
            address: config.listeners.client, dispatcher: RequestDispatcher(services: services), group: group,
            frameBytesMax: config.limits.requestBytesMax, connectionsMax: config.limits.connectionsMax, logger: logger,
            tls: tls.clientListener, onBound: { _ in readiness.clientListenerOpened() })
        clientListener.openWhen = { readiness.isReady }
        let heartbeater = BrokerHeartbeater(
            heartbeat: heartbeat, controller: controller, view: view, client: client, voters: voterAddresses,
            interval: .milliseconds(config.cluster.brokerHeartbeatIntervalMs), logger: logger, cleanShutdown: cleanShutdown)
        clientListener.metrics = metrics
        let collector = NodeMetricsCollector(
            nodeID: id, metrics: metrics, partitions: partitions, view: view,
            raft: {
                RaftMetricsSample(term: await driver.term, raftCommitIndex: await driver.raftCommitIndex,
                                  appliedIndex: await driver.appliedIndex, isLeader: await driver.isLeader)
            })
        var health = HealthServer(address: config.listeners.http, group: group, logger: logger, isReady: { readiness.isServing })
        health.metrics = { await collector.render() }
        self.services = [
            driver,
            transport,
            interNode,
            ControllerRunner(nodeID: id, driver: driver, controller: controller, groups: groups, view: view,
                             tickInterval: .milliseconds(500), logger: logger),
            heartbeater,
            // After the listeners it serves replica fetches on, before the client listener.
            partitions,
            LogMaintenance(logs: logs, interval: .seconds(30)),
            clientListener,
            // After the client listener, so it stops first: parked JoinGroup/SyncGroup requests
            // are answered (NOT_COORDINATOR) before the listener waits for requests in hand.
            groups,
            health,
            // Last, so the service group stops it first: on SIGTERM the leaderships move away
            // while every listener still answers.
            ControlledShutdown(heartbeater: heartbeater, partitions: partitions,
                               timeout: .milliseconds(config.cluster.controlledShutdownTimeoutMs), retryInterval: .milliseconds(200),
                               logger: logger),
        ]
    }
}

extension SluiceNode {
    /// A deliberate defect for proving the fault harness can fail (`SLUICE_TEST_BREAKAGE`),
    /// honoured by debug builds only; a release build never reads the variable.
    static var testOnlyBreakage: String? {
        #if DEBUG
        ProcessInfo.processInfo.environment["SLUICE_TEST_BREAKAGE"]
        #else
        nil
        #endif
    }
}

/// Ready to serve clients: a controller is known, the metadata registers *this process* (its
/// incarnation) unfenced, and the partitions have caught up with the image that unfenced it.
/// A restarted node replays an older registration of itself from the log; until the controller
/// has registered and unfenced the new incarnation, it is not ready. The unfencing entry also
/// elects this node to the partitions waiting for it, and only once the partition manager has
/// opened those replicas in their new roles does a client's first request find its leaders.
/// Once ready it stays ready until this incarnation is fenced again (later metadata, such as
/// offset commits, does not make the probe flap while the replicas follow it).
final class ReadinessProbe: Sendable {
    let view: MetadataView
    let nodeID: NodeID
    let incarnation: KafkaUUID
    let partitions: PartitionManager
    private struct Latch {
        /// An image index at or after the one that unfenced this incarnation.
        var unfencedBy: RaftIndex?
        var ready = false
    }
    private let latch = Mutex(Latch())
    private let listening = Mutex(false)

    /// Called once the client listener is bound (it opens only when `isReady`).
    func clientListenerOpened() { listening.withLock { $0 = true } }

    /// Ready, and the client listener open: what `/healthz` reports, so that whoever waits for
    /// 200 can connect at once.
    var isServing: Bool { listening.withLock { $0 } && isReady }

    init(view: MetadataView, nodeID: NodeID, incarnation: KafkaUUID, partitions: PartitionManager) {
        self.view = view
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.partitions = partitions
    }

    var isReady: Bool {
        let snapshot = view.current
        let unfenced = snapshot.controllerID != nil
            && snapshot.image.brokers[nodeID].map { $0.incarnation == incarnation && !$0.isFenced } == true
        let reconciled = partitions.reconciledThrough
        return latch.withLock { latch in
            guard unfenced else {
                latch = Latch()
                return false
            }
            if latch.ready { return true }
            let needed = latch.unfencedBy ?? snapshot.image.lastAppliedIndex
            latch.unfencedBy = needed
            latch.ready = reconciled >= needed
            return latch.ready
        }
    }
}

/// Retention, interval flushes and checkpoints of every partition log, in the background.
struct LogMaintenance: Service {
    let logs: LogManager
    let interval: Duration
    func run() async throws {
        await cancelWhenGracefulShutdown { await logs.runMaintenance(every: interval) }
    }
}
