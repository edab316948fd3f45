import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceMetadata
import SluiceReplication
import SluiceStorage
import SluiceWire
import Synchronization

/// The replicas this node holds, kept in line with the metadata image: a partition that names
/// this node among its replicas is opened (recovering its log if needed) and told its role, one
/// that no longer does is closed and its files deleted, as are a deleted topic's.
///
/// Metadata apply never waits on partition I/O: `submit` hands the newest image over and
/// returns; the manager's apply loop reconciles with the newest image it has (images are
/// whole states, so a burst of them coalesces into the last). It also runs the leaders' tick
/// (ISR shrink, produce timeouts) and one `ReplicaFetcher` per leader this node follows.
public actor PartitionManager: Service {
    struct Settings: Sendable {
        var replication = ReplicationOptions()
        var fetcher: ReplicaFetcher.Settings
        var tickInterval: Duration = .milliseconds(100)
        /// See `ReplicaContext.testOnlyAcksAllAtAppend`.
        var testOnlyAcksAllAtAppend = false
        /// The node's hot-path metrics, handed to every replica; nil counts nothing.
        var metrics: NodeMetrics? = nil
        /// How often the scrub reads on (`PartitionReplica.scrub`) and how many log bytes
        /// it may read per pass across all replicas: 8 MiB every 10 s is under 1 MB/s, so
        /// scrubbing never competes with produce and fetch, and a 100 GiB node is read
        /// through in about two weeks. Damage is usually found sooner by the reads clients make.
        var scrubInterval: Duration = .seconds(10)
        var scrubBytesPerPass = 8 << 20
    }

    let nodeID: NodeID
    let logs: LogManager
    let logger: Logger
    nonisolated let signal = AppendSignal()
    private let settings: Settings
    private let isrChanges: any ISRChangeSubmitting
    private let group: any EventLoopGroup
    private let nowMs: @Sendable () -> Int64
    private var replicas: [TopicPartition: PartitionReplica] = [:]
    private var topicIDs: [TopicName: KafkaUUID] = [:]
    private let defaultLogConfig: LogConfig
    /// The log settings each topic with local replicas runs with, so a config change in the
    /// image (AlterConfigs) reaches the open logs at once, without a restart.
    private var logConfigs: [TopicName: LogConfig] = [:]
    private var fetchers: [NodeID: (fetcher: ReplicaFetcher, task: Task<Void, Never>)] = [:]
    /// Which leader's fetcher holds each followed partition.
    private var following: [TopicPartition: NodeID] = [:]

    /// The newest image handed over and not yet reconciled, and who waits for one.
    private struct Inbox {
        var image: MetadataImage?
        var waiter: CheckedContinuation<Void, Never>?
    }
    private nonisolated let inbox = Mutex(Inbox())
    /// The last image index reconciled, and callers waiting to see one at least as new.
    private var reconciledIndex = RaftIndex(0) {
        didSet { reconciledMirror.store(reconciledIndex.rawValue, ordering: .releasing) }
    }
    /// `reconciledIndex` for readers off the actor (the readiness probe).
    private nonisolated let reconciledMirror = Atomic<UInt64>(0)
    private var reconcileWaiters: [(RaftIndex, CheckedContinuation<Void, Never>)] = []

    /// This process's broker incarnation. Images that do not yet register it are not followed
    /// (nil: every image is, for tests of one broker).
    ///
    /// Why: a restarted node replays the metadata log, whose older entries still name it the
    /// leader of partitions at the leader epoch it had before it died. Opening those replicas
    /// as leaders would let followers that still fetch at that epoch ask it where the epoch
    /// ends, and an unclean restart may have cut its log (a torn tail): they would truncate
    /// records the ISR had acknowledged. The fault harness did exactly that. The controller's
    /// registration of the new incarnation moves those leaderships away and takes this node
    /// out of every ISR, so from that image on the roles are safe to take.
    private let incarnation: KafkaUUID?
    private var waitingForRegistration = false

    init(nodeID: NodeID, incarnation: KafkaUUID? = nil, logs: LogManager, defaultLogConfig: LogConfig, settings: Settings,
         isrChanges: any ISRChangeSubmitting, group: any EventLoopGroup, nowMs: @escaping @Sendable () -> Int64, logger: Logger) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.logs = logs
        self.defaultLogConfig = defaultLogConfig
        self.settings = settings
        self.isrChanges = isrChanges
        self.group = group
        self.nowMs = nowMs
        self.logger = logger
    }

    func replica(_ partition: TopicPartition) -> PartitionReplica? { replicas[partition] }

    /// How many local replicas lead their partition now (a controlled shutdown waits for 0).
    func leaderCount() async -> Int {
        var count = 0
        for replica in replicas.values where await replica.isLeader { count += 1 }
        return count
    }

    /// Every local replica, by partition (DescribeLogDirs).
    var allReplicas: [TopicPartition: PartitionReplica] { replicas }

    /// Hands a newly applied image over without waiting for the partitions to follow it.
    public nonisolated func submit(_ image: MetadataImage) {
        let waiter = inbox.withLock { inbox -> CheckedContinuation<Void, Never>? in
            inbox.image = image
            defer { inbox.waiter = nil }
            return inbox.waiter
        }
        waiter?.resume()
    }

    /// The last image index whose replicas are open in their roles, read without the actor.
    nonisolated var reconciledThrough: RaftIndex { RaftIndex(reconciledMirror.load(ordering: .acquiring)) }

    /// Returns once an image at least as new as `index` has been reconciled (tests, and
    /// callers that must see the replicas of a change they made).
    func waitReconciled(through index: RaftIndex) async {
        guard reconciledIndex < index else { return }
        await withCheckedContinuation { reconcileWaiters.append((index, $0)) }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { loops in
                loops.addTask { await self.applyLoop() }
                loops.addTask { await self.tickLoop() }
                loops.addTask { await self.scrubLoop() }
            }
        }
        await shutdown()
    }

    private func shutdown() async {
        for (_, entry) in fetchers {
            await entry.fetcher.retire()
            entry.task.cancel()
        }
        fetchers.removeAll()
        following.removeAll()
        for replica in replicas.values { await replica.close() }
    }

    private func applyLoop() async {
        while !Task.isCancelled {
            let image: MetadataImage? = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = inbox.withLock { inbox -> Bool in
                        if inbox.image != nil || Task.isCancelled { return true }
                        inbox.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                return inbox.withLock { inbox in
                    defer { inbox.image = nil }
                    return inbox.image
                }
            } onCancel: {
                let waiter = inbox.withLock { inbox in
                    defer { inbox.waiter = nil }
                    return inbox.waiter
                }
                waiter?.resume()
            }
            if let image { await reconcile(with: image) }
        }
    }

    /// Reads every replica's log a slice at a time, so damage in segments no client reads
    /// (a follower's) is found and healed too (`PartitionReplica+Damage`).
    private func scrubLoop() async {
        while !Task.isCancelled {
            // Not one more pass once cancelled: the logs' I/O threads stop right after.
            do { try await Task.sleep(for: settings.scrubInterval) } catch { return }
            guard !replicas.isEmpty else { continue }
            let share = max(settings.scrubBytesPerPass / replicas.count, PartitionReplica.scrubReadBytesMax)
            for replica in replicas.values { await replica.scrub(bytesMax: share) }
        }
    }

    private func tickLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.tickInterval)
            for replica in replicas.values { await replica.tick() }
        }
    }

    /// Brings the local replicas in line with `image`.
    func reconcile(with image: MetadataImage) async {
        if let incarnation, image.brokers[nodeID]?.incarnation != incarnation {
            if !waitingForRegistration {
                logger.info("replicas wait until the controller registers this process (incarnation \(incarnation)); the replayed metadata is from an earlier one")
                waitingForRegistration = true
            }
            return
        }
        if waitingForRegistration {
            logger.info("the controller registered this process at metadata index \(image.lastAppliedIndex); replicas follow the metadata now")
            waitingForRegistration = false
        }
        var wanted: [TopicPartition: PartitionState] = [:]
        for topic in image.topicsByID.values {
            for (i, state) in topic.partitions.enumerated() where state.replicas.contains(nodeID) {
                wanted[TopicPartition(topic.name, PartitionIndex(Int32(i)))] = state
            }
        }
        // Topics deleted, or re-created under the same name (a new topic id): remove the files.
        for (name, id) in topicIDs where image.topic(named: name)?.topicID != id {
            for partition in replicas.keys where partition.topic == name {
                await remove(partition, reason: "topic \(name) was deleted")
            }
            topicIDs.removeValue(forKey: name)
        }
        await applyLogConfigs(image)
        // Replicas moved to other nodes: close and delete (the new replicas copy the leader's).
        for partition in replicas.keys where wanted[partition] == nil {
            await remove(partition, reason: "this node is no longer one of its replicas")
        }
        for (partition, state) in wanted.sorted(by: { $0.key < $1.key }) {
            let replica: PartitionReplica
            if let existing = replicas[partition] {
                replica = existing
                if await existing.state == state { continue }
            } else {
                guard let opened = await open(partition, state: state, image: image) else { continue }
                replica = opened
            }
            let transition = await replica.update(state)
            await place(partition, replica: replica, transition: transition, image: image)
        }
        // Leaders that moved their inter-node endpoint; fetchers left with nothing to fetch.
        for (leader, entry) in fetchers {
            if let endpoint = image.brokers[leader]?.interNodeEndpoint {
                await entry.fetcher.update(address: HostPort(host: endpoint.host, port: Int(endpoint.port)))
            }
            if await entry.fetcher.isEmpty {
                await entry.fetcher.retire()
                entry.task.cancel()
                fetchers[leader] = nil
            }
        }
        reconciledIndex = max(reconciledIndex, image.lastAppliedIndex)
        let ready = reconcileWaiters.filter { $0.0 <= reconciledIndex }
        reconcileWaiters.removeAll { $0.0 <= reconciledIndex }
        for (_, waiter) in ready { waiter.resume() }
    }

    /// Hands each local topic's changed log settings (retention, segment size and age, flush)
    /// to its open logs; they apply from the next append or retention pass.
    private func applyLogConfigs(_ image: MetadataImage) async {
        for (name, current) in logConfigs {
            guard let topic = image.topic(named: name) else {
                logConfigs[name] = nil
                continue
            }
            let wanted = Self.logConfig(topic: topic, defaults: defaultLogConfig)
            guard wanted != current else { continue }
            logConfigs[name] = wanted
            await logs.setConfig(wanted, for: name)
            logger.info("topic \(name): log settings changed to \(wanted)")
        }
    }

    private func open(_ partition: TopicPartition, state: PartitionState, image: MetadataImage) async -> PartitionReplica? {
        guard let topic = image.topic(named: partition.topic) else { return nil }
        do throws(LogError) {
            let config = Self.logConfig(topic: topic, defaults: defaultLogConfig)
            await logs.setConfig(config, for: partition.topic)
            logConfigs[partition.topic] = config
            let log = try await logs.open(partition, topicID: topic.topicID)
            let context = ReplicaContext(nodeID: nodeID, options: settings.replication, signal: signal, isrChanges: isrChanges,
                                         nowMs: nowMs, logger: logger,
                                         testOnlyAcksAllAtAppend: settings.testOnlyAcksAllAtAppend, metrics: settings.metrics)
            // Opened with the state it had before (none): `update` then makes it leader or follower.
            let replica = PartitionReplica(partition: partition, log: log, state: PartitionState.unopened(like: state), context: context)
            replicas[partition] = replica
            topicIDs[partition.topic] = topic.topicID
            let end = await log.logEndOffset
            logger.info("opened replica \(partition): leader \(state.leader) epoch \(state.leaderEpoch), log end \(end)")
            return replica
        } catch {
            logger.error("opening \(partition) failed: \(error)")
            return nil
        }
    }

    private func place(_ partition: TopicPartition, replica: PartitionReplica, transition: PartitionReplica.Transition,
                       image: MetadataImage) async {
        switch transition {
        case .unchanged:
            return
        case .stopFollowing:
            if let leader = following.removeValue(forKey: partition) { await fetchers[leader]?.fetcher.remove(partition) }
        case .follow(let leader, let epoch, let directive):
            if let previous = following[partition], previous != leader { await fetchers[previous]?.fetcher.remove(partition) }
            guard let endpoint = image.brokers[leader]?.interNodeEndpoint else {
                logger.warning("\(partition): leader \(leader) has no registered inter-node endpoint; not fetching")
                following[partition] = nil
                return
            }
            let fetcher = fetcherFor(leader, address: HostPort(host: endpoint.host, port: Int(endpoint.port)))
            following[partition] = leader
            await fetcher.follow(partition, replica: replica, leaderEpoch: epoch, directive: directive)
        }
    }

    private func fetcherFor(_ leader: NodeID, address: HostPort) -> ReplicaFetcher {
        if let existing = fetchers[leader] { return existing.fetcher }
        let fetcher = ReplicaFetcher(leader: leader, address: address, settings: settings.fetcher, group: group, logger: logger)
        let task = Task { await fetcher.run() }
        fetchers[leader] = (fetcher, task)
        return fetcher
    }

    private func remove(_ partition: TopicPartition, reason: String) async {
        guard let replica = replicas.removeValue(forKey: partition) else { return }
        if let leader = following.removeValue(forKey: partition) { await fetchers[leader]?.fetcher.remove(partition) }
        await replica.close()
        do {
            try await logs.delete(partition)
            logger.info("removed replica \(partition): \(reason)")
        } catch {
            logger.error("deleting \(partition) failed: \(error)")
        }
    }

    /// The log settings of `topic`: the node's defaults overridden by the topic's configs.
    static func logConfig(topic: TopicImage, defaults: LogConfig) -> LogConfig {
        var config = defaults
        if let v = topic.configs[TopicConfigKey.segmentBytes.rawValue].flatMap(Int.init) { config.segmentBytes = v }
        if let v = topic.configs[TopicConfigKey.segmentMs.rawValue].flatMap(Int64.init) { config.segmentMilliseconds = v }
        if let v = topic.configs[TopicConfigKey.retentionBytes.rawValue].flatMap(Int64.init) { config.retentionBytes = v < 0 ? nil : v }
        if let v = topic.configs[TopicConfigKey.retentionMs.rawValue].flatMap(Int64.init) { config.retentionMilliseconds = v < 0 ? nil : v }
        switch topic.configs[TopicConfigKey.flushPolicy.rawValue] {
        case "always": config.flush = .always
        case "none": config.flush = .none
        default: break
        }
        return config
    }
}

extension PartitionState {
    /// A state no metadata change equals: a freshly opened replica has no role yet.
    static func unopened(like state: PartitionState) -> PartitionState {
        var none = state
        none.leader = .none
        none.leaderEpoch = .unknown
        return none
    }
}
