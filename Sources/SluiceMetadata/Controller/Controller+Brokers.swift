import SluiceCore
import SluiceWire

/// What a broker sends on every heartbeat (over the inter-node listener).
public struct BrokerHeartbeat: Hashable, Sendable {
    public var nodeID: NodeID
    public var incarnation: KafkaUUID
    public var clientEndpoint: BrokerEndpoint
    public var interNodeEndpoint: BrokerEndpoint
    public init(nodeID: NodeID, incarnation: KafkaUUID, clientEndpoint: BrokerEndpoint, interNodeEndpoint: BrokerEndpoint) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.clientEndpoint = clientEndpoint
        self.interNodeEndpoint = interNodeEndpoint
    }
}

/// The heartbeat answer: whether the broker may lead partitions once the records commit.
public struct BrokerHeartbeatResult: Hashable, Sendable {
    /// `.none`, or `.invalidRequest` for a heartbeat that cannot be a broker's (then nothing changed).
    public var error: KafkaErrorCode = .none
    public var isFenced: Bool
}

extension Controller {
    /// A broker's heartbeat renews its lease. A broker that is new, restarted (a new
    /// incarnation) or moved (new endpoints) is registered, fenced: a restarted broker lost its
    /// in-memory state, so the partitions it led get new leaders now. A registered, fenced
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
            let moves = electLeadersReplacing(id)
            return ControllerOutput(units: [[register], moves], result: BrokerHeartbeatResult(isFenced: true))
        }
        guard current!.isFenced else {
            return ControllerOutput(units: [], result: BrokerHeartbeatResult(isFenced: false))
        }
        let unfence = MetadataRecord.unfenceBroker(UnfenceBrokerRecord(nodeID: id, incarnation: heartbeat.incarnation))
        adopt([unfence])
        let elections = electLeaderlessPartitions(with: id)
        return ControllerOutput(units: [[unfence], elections], result: BrokerHeartbeatResult(isFenced: false))
    }

    /// Fences every unfenced broker whose lease has expired and moves its leaderships.
    /// Call it periodically (the driver's tick, e.g. every few hundred ms).
    public mutating func tick(nowMs: Int64) -> ControllerOutput<[NodeID]> {
        var units: [[MetadataRecord]] = []
        var fenced: [NodeID] = []
        // A broker unfenced without a lease cannot happen through this type; give it one
        // rather than fence a broker that was never timed.
        for id in image.unfencedBrokerIDs where leases.deadlinesMs[id] == nil {
            leases.renew(id, nowMs: nowMs, timeoutMs: options.brokerSessionTimeoutMs)
        }
        for id in leases.expired(nowMs: nowMs) {
            leases.remove(id)
            guard let broker = image.brokers[id], !broker.isFenced else { continue }
            let fence = MetadataRecord.fenceBroker(FenceBrokerRecord(nodeID: id, incarnation: broker.incarnation))
            adopt([fence])
            units.append([fence])
            units.append(electLeadersReplacing(id))
            fenced.append(id)
        }
        return ControllerOutput(units: units, result: fenced)
    }

    /// For every partition `fenced` leads: the first replica (in replica order) that is in the
    /// ISR and unfenced becomes leader, and `fenced` leaves the ISR. If there is none, the
    /// partition has no leader and its ISR stays as it is: unclean election is off, so only an
    /// ISR member may lead again, and the ISR never becomes empty.
    mutating func electLeadersReplacing(_ fenced: NodeID) -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for (topic, index, state) in partitions(where: { $0.leader == fenced }) {
            let candidate = state.replicas.first { $0 != fenced && state.isr.contains($0) && image.isUnfenced($0) }
            let change: PartitionChangeRecord
            if let leader = candidate {
                change = PartitionChangeRecord(
                    topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next,
                    leader: leader, isr: state.isr.filter { $0 != fenced })
            } else {
                change = PartitionChangeRecord(
                    topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next, leader: NodeID.none)
            }
            records.append(.partitionChange(change))
        }
        adopt(records)
        return records
    }

    /// Leaderless partitions whose ISR contains the newly unfenced `broker` get it as leader.
    mutating func electLeaderlessPartitions(with broker: NodeID) -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for (topic, index, state) in partitions(where: { !$0.hasLeader && $0.isr.contains(broker) }) {
            records.append(
                .partitionChange(
                    PartitionChangeRecord(
                        topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next, leader: broker)))
        }
        adopt(records)
        return records
    }

    /// Matching partitions in a stable order (topic name, then index), so a decision is
    /// reproducible in tests and simulations.
    func partitions(where matches: (PartitionState) -> Bool) -> [(KafkaUUID, PartitionIndex, PartitionState)] {
        var found: [(KafkaUUID, PartitionIndex, PartitionState)] = []
        for name in image.topicIDsByName.keys.sorted() {
            let topic = image.topicsByID[image.topicIDsByName[name]!]!
            for (i, state) in topic.partitions.enumerated() where matches(state) {
                found.append((topic.topicID, PartitionIndex(Int32(i)), state))
            }
        }
        return found
    }
}
