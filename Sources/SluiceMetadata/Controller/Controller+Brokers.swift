import SluiceCore
import SluiceWire

/// What a broker sends on every heartbeat (over the inter-node listener).
public struct BrokerHeartbeat: Hashable, Sendable {
    public var nodeID: NodeID
    public var incarnation: KafkaUUID
    public var clientEndpoint: BrokerEndpoint
    public var interNodeEndpoint: BrokerEndpoint
    /// Whether the node's previous process shut down cleanly (every log flushed and closed).
    /// Read only when the heartbeat registers a new incarnation: after an unclean shutdown the
    /// broker's logs may lack records it had acknowledged, so the partitions whose only
    /// in-sync replica it is do not elect it (`PartitionState.isrRestartedUnclean`).
    public var cleanShutdown: Bool
    /// The broker is stopping and asks for a controlled shutdown (KRaft's `WantShutDown`): its
    /// leaderships move to other in-sync replicas and it leaves the ISRs before it goes.
    public var wantShutDown: Bool
    /// `cleanShutdown` defaults to true, the behaviour before the flag existed, for a node
    /// that does not know how its previous process ended.
    public init(
        nodeID: NodeID, incarnation: KafkaUUID, clientEndpoint: BrokerEndpoint, interNodeEndpoint: BrokerEndpoint,
        cleanShutdown: Bool = true, wantShutDown: Bool = false
    ) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.clientEndpoint = clientEndpoint
        self.interNodeEndpoint = interNodeEndpoint
        self.cleanShutdown = cleanShutdown
        self.wantShutDown = wantShutDown
    }
}

/// The heartbeat answer: whether the broker may lead partitions once the records commit.
public struct BrokerHeartbeatResult: Hashable, Sendable {
    /// `.none`, or `.invalidRequest` for a heartbeat that cannot be a broker's (then nothing changed).
    public var error: KafkaErrorCode = .none
    public var isFenced: Bool
    /// The broker asked to stop and may now: it leads nothing, and is out of every ISR it is not
    /// the last member of.
    public var shouldShutDown = false
}

extension Controller {
    /// A broker's heartbeat renews its lease. A broker that is new, restarted (a new
    /// incarnation) or moved (new endpoints) is registered, fenced: a restarted broker lost its
    /// in-memory state, so the partitions it led get new leaders now, and it leaves every ISR
    /// until its partitions' leaders see it caught up again (KIP-903). A registered, fenced
    /// broker is unfenced and takes the leaderless partitions whose ISR it is in.
    public mutating func brokerHeartbeat(_ heartbeat: BrokerHeartbeat, nowMs: Int64) -> ControllerOutput<BrokerHeartbeatResult> {
        let id = heartbeat.nodeID
        // A heartbeat arrives over the network: refuse what the records could not carry, and
        // registrations past the broker limit.
        guard id.rawValue >= 0,
            heartbeat.clientEndpoint.host.utf8.count <= BrokerEndpoint.hostBytesMax,
            heartbeat.interNodeEndpoint.host.utf8.count <= BrokerEndpoint.hostBytesMax,
            image.brokers[id] != nil || image.brokers.count < Self.brokersMax
        else {
            return ControllerOutput(units: [], result: BrokerHeartbeatResult(error: .invalidRequest, isFenced: true))
        }
        leases.renew(id, nowMs: nowMs, timeoutMs: options.brokerSessionTimeoutMs)
        let current = image.brokers[id]
        if current?.incarnation != heartbeat.incarnation
            || current?.clientEndpoint != heartbeat.clientEndpoint
            || current?.interNodeEndpoint != heartbeat.interNodeEndpoint
        {
            let register = MetadataRecord.registerBroker(
                RegisterBrokerRecord(
                    nodeID: id, incarnation: heartbeat.incarnation, clientEndpoint: heartbeat.clientEndpoint,
                    interNodeEndpoint: heartbeat.interNodeEndpoint))
            adopt([register])
            shuttingDown.remove(id)
            let restartedUnclean = current != nil && current!.incarnation != heartbeat.incarnation && !heartbeat.cleanShutdown
            let moves = removeFromPartitions(id, .registeredAgain(lostUnsyncedRecords: restartedUnclean))
            return ControllerOutput(
                units: [[register], moves.records], result: BrokerHeartbeatResult(isFenced: true), notices: moves.notices)
        }
        if heartbeat.wantShutDown { return controlledShutdown(id, current!) }
        // The broker went on without stopping (its shutdown was cancelled, or it is a new
        // attempt of the same process): it may lead and join ISRs again.
        shuttingDown.remove(id)
        guard current!.isFenced else {
            return ControllerOutput(units: [], result: BrokerHeartbeatResult(isFenced: false))
        }
        let unfence = MetadataRecord.unfenceBroker(UnfenceBrokerRecord(nodeID: id, incarnation: heartbeat.incarnation))
        adopt([unfence])
        let elections = electLeaderlessPartitions(with: id)
        return ControllerOutput(
            units: [[unfence], elections.records], result: BrokerHeartbeatResult(isFenced: false), notices: elections.notices)
    }

    /// A controlled shutdown (KRaft's): every partition `id` leads gets another in-sync,
    /// unfenced leader that is not stopping too, or none where `id` is its only such member (the
    /// partition is offline until `id` returns, as it would be once `id` stops); `id` leaves
    /// every ISR it is not the last member of; and it is fenced, so that no leader adds it back,
    /// no election picks it, and clients stop routing to it. It may then stop: the answer says
    /// so once these records commit. A restarted process registers again and is unfenced as
    /// after any restart. Heartbeats of a fenced, stopping broker change nothing.
    mutating func controlledShutdown(_ id: NodeID, _ registration: BrokerRegistration) -> ControllerOutput<BrokerHeartbeatResult> {
        guard !registration.isFenced else {
            return ControllerOutput(units: [], result: BrokerHeartbeatResult(isFenced: true, shouldShutDown: true))
        }
        shuttingDown.insert(id)
        let moves = removeFromPartitions(id, .shuttingDown)
        let fence = MetadataRecord.fenceBroker(FenceBrokerRecord(nodeID: id, incarnation: registration.incarnation))
        adopt([fence])
        return ControllerOutput(units: [moves.records, [fence]], result: BrokerHeartbeatResult(isFenced: true, shouldShutDown: true),
                                notices: moves.notices)
    }

    /// Fences every unfenced broker whose lease has expired, moves its leaderships and takes
    /// it out of every ISR; a broker that registered again and then fell silent lets the
    /// partitions waiting for it elect uncleanly where allowed. Call it periodically (the
    /// driver's tick, e.g. every few hundred ms).
    public mutating func tick(nowMs: Int64) -> ControllerOutput<[NodeID]> {
        var units: [[MetadataRecord]] = []
        var notices: [String] = []
        var fenced: [NodeID] = []
        // A broker unfenced without a lease cannot happen through this type; give it one
        // rather than fence a broker that was never timed.
        for id in image.unfencedBrokerIDs where leases.deadlinesMs[id] == nil {
            leases.renew(id, nowMs: nowMs, timeoutMs: options.brokerSessionTimeoutMs)
        }
        for id in leases.expired(nowMs: nowMs) {
            leases.remove(id)
            shuttingDown.remove(id)
            guard let broker = image.brokers[id] else { continue }
            if !broker.isFenced {
                let fence = MetadataRecord.fenceBroker(FenceBrokerRecord(nodeID: id, incarnation: broker.incarnation))
                adopt([fence])
                units.append([fence])
                fenced.append(id)
            }
            // A fenced broker here registered again and fell silent since: the partitions that
            // waited for it as their only ISR member may now elect uncleanly, where allowed.
            let moves = removeFromPartitions(id, .fenced)
            units.append(moves.records)
            notices += moves.notices
        }
        if options.autoLeaderRebalance, nowMs >= nextImbalanceCheckMs {
            nextImbalanceCheckMs = nowMs + options.leaderImbalanceCheckIntervalMs
            let moves = electPreferredLeaders(onlyImbalanced: true)
            units.append(moves.records)
            notices += moves.notices
        }
        return ControllerOutput(units: units, result: fenced, notices: notices)
    }
}
