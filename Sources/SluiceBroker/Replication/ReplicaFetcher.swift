import Logging
import NIOCore
import SluiceCore
import SluiceReplication
import SluiceTLS
import SluiceWire

/// Replicates every partition this node follows on one leader, over one persistent pipelined
/// connection to the leader's inter-node listener (as Kafka's replica fetcher thread does):
/// not a connection or a task per partition.
///
/// Each partition is in one of two phases, as its `PartitionReplica` directs: the truncation
/// handshake (OffsetForLeaderEpoch, batched for all partitions asking) or fetching (Kafka Fetch
/// v11 with `replica_id`, long-polling up to `fetchWaitMax`, bounded per partition and per
/// response). The two run side by side on the connection, so a partition that starts to follow
/// does not wait for a parked fetch. Errors back the partition (or the connection) off.
///
/// An answer is handed to the replica with the leader epoch it was asked under, and the
/// replica's directive is applied only if the partition is still here under that epoch: the
/// partition manager may move it to another leader's fetcher at any time.
actor ReplicaFetcher {
    struct Settings: Sendable {
        var nodeID: NodeID
        var fetchWaitMax: Duration = .milliseconds(500)
        var fetchPartitionBytesMax: Int = 1 << 20
        var fetchResponseBytesMax: Int = 10 << 20
        var fetchBackoff: Duration = .milliseconds(200)
        var frameBytesMax: Int = Limits.frameBytesMax
        /// How long an answer may take beyond the fetch's own wait before the connection is
        /// called dead (a paused or cut-off leader).
        var requestTimeout: Duration = .seconds(10)
        var tls: TLSContext? = nil
        /// The local address connections to the leader bind to; nil lets the kernel pick.
        var source: SocketAddress? = nil
    }

    private enum Phase: Equatable {
        case askEpochEndOffset(LeaderEpoch)
        case fetch(from: Offset)
    }

    private struct Entry {
        var replica: PartitionReplica
        var leaderEpoch: LeaderEpoch
        var phase: Phase
        var delayedUntil: ContinuousClock.Instant?
        /// A request for this partition is out; its answer decides what comes next.
        var inFlight = false
        /// The replica's log start as last reported by it, sent with each fetch.
        var logStartOffset: Offset = .unknown
    }

    let leader: NodeID
    private(set) var address: HostPort
    private let settings: Settings
    private let group: any EventLoopGroup
    private let logger: Logger
    private var entries: [TopicPartition: Entry] = [:]
    private var connection: PipelinedConnection?
    private var connectionFailedAt: ContinuousClock.Instant?
    /// The loops parked for work, by loop (true: the handshake loop).
    private var wakeups: [Bool: [CheckedContinuation<Void, Never>]] = [:]
    private let clock = ContinuousClock()

    init(leader: NodeID, address: HostPort, settings: Settings, group: any EventLoopGroup, logger: Logger) {
        self.leader = leader
        self.address = address
        self.settings = settings
        self.group = group
        var logger = logger
        logger[metadataKey: "fetcher"] = "\(leader)"
        self.logger = logger
    }

    var isEmpty: Bool { entries.isEmpty }

    /// The leader moved its inter-node endpoint (re-registered elsewhere): reconnect there.
    func update(address newAddress: HostPort) {
        guard newAddress != address else { return }
        address = newAddress
        connection?.close()
        connection = nil
    }

    /// Adds (or re-places) `partition` at `leaderEpoch`, in the phase `directive` names.
    func follow(_ partition: TopicPartition, replica: PartitionReplica, leaderEpoch: LeaderEpoch, directive: FetchDirective) {
        let phase: Phase
        switch directive.next {
        case .askEpochEndOffset(let epoch): phase = .askEpochEndOffset(epoch)
        case .fetch(let offset): phase = .fetch(from: offset)
        case .stop, .unchanged:
            entries[partition] = nil
            return
        }
        entries[partition] = Entry(replica: replica, leaderEpoch: leaderEpoch, phase: phase,
                                   delayedUntil: directive.backOff ? clock.now + settings.fetchBackoff : nil)
        wake()
    }

    func remove(_ partition: TopicPartition) {
        entries[partition] = nil
    }

    /// Stops: the connection closes, whatever is in flight fails.
    func retire() {
        entries.removeAll()
        connection?.close()
        connection = nil
        wake()
    }

    /// Runs the handshake and fetch loops until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { loops in
            loops.addTask { await self.loop(handshakes: true) }
            loops.addTask { await self.loop(handshakes: false) }
        }
        connection?.close()
    }

    /// Wakes the given loop, or both.
    private func wake(handshakes: Bool? = nil) {
        let loops = handshakes.map { [$0] } ?? [true, false]
        for loop in loops {
            let waiting = wakeups[loop] ?? []
            wakeups[loop] = nil
            for continuation in waiting { continuation.resume() }
        }
    }

    /// Sleeps until `follow`, `retire` or the other loop gives this one work, or `timeout`
    /// passes. Only a loop with nothing to do parks here, so this timer is not per request.
    private func waitForWork(handshakes: Bool, timeout: Duration) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.wake(handshakes: handshakes)
        }
        await withCheckedContinuation { wakeups[handshakes, default: []].append($0) }
        timer.cancel()
    }

    private func loop(handshakes: Bool) async {
        while !Task.isCancelled {
            let now = clock.now
            let ready = entries.filter { _, entry in
                guard !entry.inFlight, entry.delayedUntil.map({ $0 <= now }) ?? true else { return false }
                if case .askEpochEndOffset = entry.phase { return handshakes }
                return !handshakes
            }
            if ready.isEmpty {
                let nextDelay = entries.values.compactMap(\.delayedUntil).filter { $0 > now }.min()
                await waitForWork(handshakes: handshakes, timeout: nextDelay.map { $0 - now } ?? .seconds(1))
                continue
            }
            guard let connection = await connected() else { continue }
            for key in ready.keys { entries[key]?.inFlight = true }
            if handshakes {
                await askEpochEndOffsets(ready, over: connection)
            } else {
                await fetch(ready, over: connection)
            }
            for key in ready.keys { entries[key]?.inFlight = false }
        }
    }

    /// The open connection, or a new one; nil (after the backoff) if the leader is unreachable.
    private func connected() async -> PipelinedConnection? {
        if let connection, connection.isActive { return connection }
        connection = nil
        if let failed = connectionFailedAt, clock.now - failed < settings.fetchBackoff {
            try? await Task.sleep(for: settings.fetchBackoff - (clock.now - failed))
        }
        do {
            let opened = try await PipelinedConnection.connect(to: address, group: group, frameBytesMax: settings.frameBytesMax,
                                                               tls: settings.tls, clientID: "replica-fetcher-\(settings.nodeID)", source: settings.source)
            if let raced = connection { opened.close(); return raced }
            connection = opened
            connectionFailedAt = nil
            return opened
        } catch {
            if connectionFailedAt == nil { logger.warning("cannot reach leader \(leader) at \(address): \(error)") }
            connectionFailedAt = clock.now
            return nil
        }
    }

    private func dropConnection(_ failed: PipelinedConnection, _ error: any Error) {
        logger.warning("replica fetch from leader \(leader) at \(address) failed: \(error)")
        failed.close()
        if connection === failed { connection = nil }
        connectionFailedAt = clock.now
    }

    private func askEpochEndOffsets(_ ready: [TopicPartition: Entry], over connection: PipelinedConnection) async {
        var byTopic: [TopicName: [OffsetForLeaderEpochRequest.OffsetForLeaderTopic.OffsetForLeaderPartition]] = [:]
        for (partition, entry) in ready {
            guard case .askEpochEndOffset(let epoch) = entry.phase else { continue }
            byTopic[partition.topic, default: []].append(.init(partition: partition.partition, currentLeaderEpoch: entry.leaderEpoch,
                                                                leaderEpoch: epoch))
        }
        let request = OffsetForLeaderEpochRequest(
            replicaID: settings.nodeID,
            topics: byTopic.map { .init(topic: $0.key.rawValue, partitions: $0.value) })
        let response: OffsetForLeaderEpochResponse
        do {
            response = try await connection.call(request, version: 3, timeout: settings.requestTimeout)
        } catch {
            dropConnection(connection, error)
            return
        }
        var answered: Set<TopicPartition> = []
        for topic in response.topics {
            guard let name = TopicName(rawValue: topic.topic) else { continue }
            for p in topic.partitions {
                let partition = TopicPartition(name, p.partition)
                guard let entry = ready[partition] else { continue }
                answered.insert(partition)
                let answer: FollowerState.EpochAnswer = switch KafkaErrorCode(rawValue: p.errorCode) ?? .unknownServerError {
                case .none: .endOffset(epoch: p.leaderEpoch, endOffset: p.endOffset)
                case .unknownLeaderEpoch: .unknownLeaderEpoch
                case .fencedLeaderEpoch: .fencedLeaderEpoch
                default: .retriable
                }
                let directive = await entry.replica.epochAnswered(answer, leaderEpoch: entry.leaderEpoch)
                apply(directive, to: partition, askedUnder: entry.leaderEpoch)
            }
        }
        for partition in ready.keys where !answered.contains(partition) {
            entries[partition]?.delayedUntil = clock.now + settings.fetchBackoff
        }
    }

    private func fetch(_ ready: [TopicPartition: Entry], over connection: PipelinedConnection) async {
        var byTopic: [TopicName: [FetchRequest.FetchTopic.FetchPartition]] = [:]
        for (partition, entry) in ready {
            guard case .fetch(let offset) = entry.phase else { continue }
            byTopic[partition.topic, default: []].append(.init(
                partition: partition.partition, currentLeaderEpoch: entry.leaderEpoch, fetchOffset: offset,
                logStartOffset: entry.logStartOffset, partitionMaxBytes: Int32(clamping: settings.fetchPartitionBytesMax)))
        }
        let waitMs = Int32(clamping: settings.fetchWaitMax.wholeMilliseconds)
        let request = FetchRequest(
            replicaID: settings.nodeID, maxWaitMs: waitMs, minBytes: 1,
            maxBytes: Int32(clamping: settings.fetchResponseBytesMax), isolationLevel: 0, sessionID: 0, sessionEpoch: -1,
            topics: byTopic.map { .init(topic: $0.key.rawValue, partitions: $0.value) }, forgottenTopicsData: [], rackID: "")
        let response: FetchResponse
        do {
            response = try await connection.call(request, version: 11, timeout: settings.fetchWaitMax + settings.requestTimeout)
        } catch {
            dropConnection(connection, error)
            return
        }
        if response.errorCode != 0 {
            let code = KafkaErrorCode(rawValue: response.errorCode) ?? .unknownServerError
            logger.warning("leader \(leader) refused the replica fetch: \(code)")
            for partition in ready.keys { entries[partition]?.delayedUntil = clock.now + settings.fetchBackoff }
            return
        }
        for topic in response.responses {
            guard let name = TopicName(rawValue: topic.topic) else { continue }
            for data in topic.partitions {
                let partition = TopicPartition(name, data.partitionIndex)
                guard let entry = ready[partition] else { continue }
                let directive = await entry.replica.fetchAnswered(data, leaderEpoch: entry.leaderEpoch)
                apply(directive, to: partition, askedUnder: entry.leaderEpoch)
            }
        }
    }

    private func apply(_ directive: FetchDirective, to partition: TopicPartition, askedUnder epoch: LeaderEpoch) {
        guard var entry = entries[partition], entry.leaderEpoch == epoch else { return }
        let wasHandshake = if case .askEpochEndOffset = entry.phase { true } else { false }
        switch directive.next {
        case .askEpochEndOffset(let asked): entry.phase = .askEpochEndOffset(asked)
        case .fetch(let offset): entry.phase = .fetch(from: offset)
        case .stop:
            entries[partition] = nil
            return
        case .unchanged: break
        }
        entry.delayedUntil = directive.backOff ? clock.now + settings.fetchBackoff : nil
        if let start = directive.logStartOffset { entry.logStartOffset = start }
        entries[partition] = entry
        // The loop that answered carries on by itself; the other one learns of a partition
        // that moved to its phase.
        let isHandshake = if case .askEpochEndOffset = entry.phase { true } else { false }
        if isHandshake != wasHandshake { wake(handshakes: isHandshake) }
    }
}
