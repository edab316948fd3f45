import SluiceCore
import SluiceWire

/// Partition changes one controller event causes, and what the operator should hear of them.
struct PartitionChanges {
    var records: [MetadataRecord] = []
    /// Unclean elections, for `ControllerOutput.notices`.
    var notices: [String] = []
}

extension Controller {
    /// Why a broker leaves the ISRs it is in.
    enum Departure: Equatable {
        /// Its lease expired: it is presumed down, so where no ISR member is left alive an
        /// unclean election (if the topic allows one) may replace it now.
        case fenced
        /// It registered again (a new process, or new endpoints) and is unfenced by its next
        /// heartbeat, so its partitions wait for it rather than elect uncleanly meanwhile.
        /// `lostUnsyncedRecords`: the new process follows an unclean shutdown.
        case registeredAgain(lostUnsyncedRecords: Bool)
        /// It asked for a controlled shutdown: its partitions get other leaders now, and where
        /// none is in sync they wait for it (no unclean election: it has not failed).
        case shuttingDown
    }

    /// `gone` was fenced or registered again: it may not lead, and it leaves every ISR, as
    /// KRaft does, so the high watermark does not wait for a replica that is not fetching, and
    /// a restarted replica that lost unsynced records is never elected before it has caught up
    /// again (KIP-903; its leader adds it back).
    ///
    /// For a partition `gone` led, the first replica (in replica order) left in the ISR and
    /// unfenced becomes leader. The ISR never becomes empty: where `gone` is its only member it
    /// stays `[gone]` and the partition is leaderless until `gone` returns; after an unclean
    /// shutdown such a partition is marked `isrRestartedUnclean`, so it does not elect `gone`
    /// when it returns either, unless `gone` is its only replica (there is no other copy to
    /// wait for) or the topic flushes every append (nothing acknowledged was lost). Where a fenced `gone` leaves no ISR member alive and the topic
    /// enables unclean election, a live replica outside the ISR leads instead.
    mutating func removeFromPartitions(_ gone: NodeID, _ departure: Departure) -> PartitionChanges {
        var changes = PartitionChanges()
        let lostRecords = departure == .registeredAgain(lostUnsyncedRecords: true)
        for (topic, index, state) in partitions(where: { $0.isr.contains(gone) }) {
            var change = PartitionChangeRecord(topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next)
            let rest = state.isr.filter { $0 != gone }
            if !rest.isEmpty { change.isr = rest }
            // Only where another copy could be better: a sole replica is the only copy there is,
            // and a topic flushed on every append lost nothing it acknowledged.
            let flushedAlways = image.topicsByID[topic]?.configs[TopicConfigKey.flushPolicy.rawValue] == "always"
            if lostRecords && rest.isEmpty && !state.isrRestartedUnclean && state.replicas.count > 1 && !flushedAlways {
                change.isrRestartedUnclean = true
            }
            let needsLeader = state.leader == gone || !state.hasLeader
            if state.leader == gone, let next = state.replicas.first(where: { rest.contains($0) && mayLead($0) }) {
                change.leader = next
            } else if needsLeader, departure == .fenced, let unclean = uncleanLeader(topic, state) {
                change.leader = unclean
                change.isr = [unclean]
                change.isrRestartedUnclean = state.isrRestartedUnclean ? false : nil
                changes.notices.append(uncleanNotice(topic, index, state, leader: unclean))
            } else if state.leader == gone {
                change.leader = NodeID.none
            }
            // The only ISR member of a leaderless partition, with nothing to mark or elect.
            if change.leader == nil && change.isr == nil && change.isrRestartedUnclean == nil { continue }
            changes.records.append(.partitionChange(change))
        }
        adopt(changes.records)
        return changes
    }

    /// Leaderless partitions the newly unfenced `broker` may lead: those whose ISR it is in
    /// (unless it restarted uncleanly as their only member), and, where the topic enables
    /// unclean election and no ISR member is alive, those it is only a replica of.
    mutating func electLeaderlessPartitions(with broker: NodeID) -> PartitionChanges {
        var changes = PartitionChanges()
        for (topic, index, state) in partitions(where: { !$0.hasLeader && $0.replicas.contains(broker) }) {
            if state.isr.contains(broker) && !state.isrRestartedUnclean {
                changes.records.append(
                    .partitionChange(
                        PartitionChangeRecord(
                            topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next, leader: broker)))
            } else if let leader = uncleanLeader(topic, state) {
                // Usually `broker` itself; another live replica only if it came back earlier,
                // when the topic did not yet allow unclean election.
                changes.records.append(uncleanElection(topic, index, state, leader: leader))
                changes.notices.append(uncleanNotice(topic, index, state, leader: leader))
            }
        }
        adopt(changes.records)
        return changes
    }

    /// Hands leadership back to preferred replicas (each partition's first) that are in sync
    /// and may lead but do not. With `onlyImbalanced` (the periodic check), only for brokers
    /// that lead less than `100 - leaderImbalancePerBrokerPercentage` percent of the partitions
    /// they are preferred for, as Kafka does; otherwise (ElectLeaders) for `only` partitions, or
    /// every partition. A move is a clean election: the preferred replica is in the ISR.
    mutating func electPreferredLeaders(onlyImbalanced: Bool, only: Set<TopicPartition>? = nil) -> PartitionChanges {
        var changes = PartitionChanges()
        var preferredFor: [NodeID: Int] = [:]
        var notLeading: [NodeID: [(KafkaUUID, PartitionIndex, PartitionState)]] = [:]
        for (topic, index, state) in partitions(where: { !$0.replicas.isEmpty }) {
            let preferred = state.replicas[0]
            preferredFor[preferred, default: 0] += 1
            // A partition whose only in-sync replica restarted uncleanly waits for an operator
            // (or unclean election): its preferred replica is not a clean choice.
            guard state.leader != preferred, state.isr.contains(preferred), mayLead(preferred), !state.isrRestartedUnclean else { continue }
            if let only, let name = image.topicsByID[topic]?.name, !only.contains(TopicPartition(name, index)) { continue }
            notLeading[preferred, default: []].append((topic, index, state))
        }
        for broker in notLeading.keys.sorted() {
            let candidates = notLeading[broker]!
            if onlyImbalanced {
                let share = candidates.count * 100 / max(1, preferredFor[broker] ?? 1)
                guard share > options.leaderImbalancePerBrokerPercentage else { continue }
            }
            for (topic, index, state) in candidates {
                changes.records.append(.partitionChange(PartitionChangeRecord(
                    topicID: topic, partition: index, partitionEpoch: state.partitionEpoch.next, leader: broker)))
            }
        }
        adopt(changes.records)
        return changes
    }

    /// The kind of an ElectLeaders request (KIP-460).
    public enum ElectionKind: Sendable {
        /// Each partition's first replica, if it is in sync and may lead.
        case preferred
        /// For a leaderless partition: a live in-sync replica, or else any live replica, even
        /// if it lacks acknowledged records (only when an operator asks).
        case unclean
    }

    /// One partition's answer to ElectLeaders.
    public struct ElectionResult: Hashable, Sendable {
        public var partition: TopicPartition
        public var error: KafkaErrorCode
        public var message: String?
    }

    /// ElectLeaders: elects leaders for `partitions`, or for every partition that needs it when
    /// nil (then partitions that need no election are left out of the answer, as Kafka does).
    public mutating func electLeaders(_ kind: ElectionKind, partitions requested: [TopicPartition]?) -> ControllerOutput<[ElectionResult]> {
        var results: [ElectionResult] = []
        var records: [MetadataRecord] = []
        var notices: [String] = []
        let targets: [TopicPartition] = requested ?? image.topicIDsByName.keys.sorted().flatMap { name -> [TopicPartition] in
            let topic = image.topicsByID[image.topicIDsByName[name]!]!
            return topic.partitions.indices.map { TopicPartition(topic.name, PartitionIndex(Int32($0))) }
        }
        for tp in targets {
            guard let topic = image.topic(named: tp.topic), let state = topic.partition(tp.partition) else {
                results.append(ElectionResult(partition: tp, error: .unknownTopicOrPartition, message: "no such partition"))
                continue
            }
            var change: PartitionChangeRecord?
            switch kind {
            case .preferred:
                let preferred = state.replicas[0]
                if state.leader == preferred {
                    if requested != nil { results.append(ElectionResult(partition: tp, error: .electionNotNeeded, message: "\(preferred) leads already")) }
                    continue
                }
                guard state.isr.contains(preferred), mayLead(preferred), !state.isrRestartedUnclean else {
                    results.append(ElectionResult(partition: tp, error: .preferredLeaderNotAvailable,
                                                  message: "preferred replica \(preferred) is not an in-sync, live replica (ISR \(state.isr))"))
                    continue
                }
                change = PartitionChangeRecord(topicID: topic.topicID, partition: tp.partition, partitionEpoch: state.partitionEpoch.next,
                                               leader: preferred)
            case .unclean:
                if state.hasLeader {
                    if requested != nil { results.append(ElectionResult(partition: tp, error: .electionNotNeeded, message: "\(state.leader) leads")) }
                    continue
                }
                if let clean = state.replicas.first(where: { state.isr.contains($0) && mayLead($0) && !state.isrRestartedUnclean }) {
                    change = PartitionChangeRecord(topicID: topic.topicID, partition: tp.partition, partitionEpoch: state.partitionEpoch.next,
                                                   leader: clean)
                } else if let live = state.replicas.first(where: mayLead) {
                    if case .partitionChange(let record) = uncleanElection(topic.topicID, tp.partition, state, leader: live) { change = record }
                    notices.append(uncleanNotice(topic.topicID, tp.partition, state, leader: live) + " (asked by ElectLeaders)")
                } else {
                    results.append(ElectionResult(partition: tp, error: .eligibleLeadersNotAvailable, message: "no replica of \(state.replicas) is alive"))
                    continue
                }
            }
            if let change {
                let record = MetadataRecord.partitionChange(change)
                adopt([record])
                records.append(record)
                results.append(ElectionResult(partition: tp, error: .none, message: nil))
            }
        }
        return ControllerOutput(units: records.map { [$0] }, result: results, notices: notices)
    }

    /// After a topic's `unclean.leader.election.enable` became true: its leaderless partitions
    /// with a live replica get a leader now rather than on the next broker event.
    mutating func electUncleanLeaders(of topicID: KafkaUUID) -> PartitionChanges {
        var changes = PartitionChanges()
        guard let topic = image.topicsByID[topicID] else { return changes }
        for (i, state) in topic.partitions.enumerated() where !state.hasLeader {
            let index = PartitionIndex(Int32(i))
            guard let leader = uncleanLeader(topicID, state) else { continue }
            changes.records.append(uncleanElection(topicID, index, state, leader: leader))
            changes.notices.append(uncleanNotice(topicID, index, state, leader: leader))
        }
        adopt(changes.records)
        return changes
    }

    /// The replica an unclean election would pick, or `nil` if the topic does not allow one or
    /// an ISR member may still be elected cleanly. An uncleanly restarted ISR member comes
    /// first (it lost only its unsynced tail), then the live replicas in replica order.
    func uncleanLeader(_ topicID: KafkaUUID, _ state: PartitionState) -> NodeID? {
        guard let name = image.topicsByID[topicID]?.name,
            image.effectiveConfig(.uncleanLeaderElectionEnable, topic: name, defaults: options.topicConfigDefaults) == "true"
        else { return nil }
        let liveISR = state.isr.filter(image.isUnfenced)
        if !liveISR.isEmpty { return state.isrRestartedUnclean && mayLead(liveISR[0]) ? liveISR[0] : nil }
        return state.replicas.first(where: mayLead)
    }

    /// `leader` leads with an ISR of itself: it is the only replica known to hold its log.
    func uncleanElection(_ topicID: KafkaUUID, _ index: PartitionIndex, _ state: PartitionState, leader: NodeID) -> MetadataRecord {
        .partitionChange(
            PartitionChangeRecord(
                topicID: topicID, partition: index, partitionEpoch: state.partitionEpoch.next, leader: leader,
                isr: [leader], isrRestartedUnclean: state.isrRestartedUnclean ? false : nil))
    }

    func uncleanNotice(_ topicID: KafkaUUID, _ index: PartitionIndex, _ state: PartitionState, leader: NodeID) -> String {
        let name = image.topicsByID[topicID].map { "\($0.name)" } ?? "\(topicID)"
        return "unclean leader election: \(name)-\(index) is led by \(leader), which was not a clean member of ISR \(state.isr); "
            + "acknowledged records it lacks are lost (unclean.leader.election.enable=true)"
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
