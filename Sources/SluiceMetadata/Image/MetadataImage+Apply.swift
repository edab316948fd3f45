import SluiceCore
import SluiceWire

/// A record of a committed entry that was skipped, for the applier's log.
public struct SkippedRecord: Hashable, Sendable, CustomStringConvertible {
    public var index: RaftIndex
    /// Position of the record in its entry's batch; `nil` when the whole entry was undecodable.
    public var recordPosition: Int?
    public var error: MetadataError
    public var description: String {
        "metadata entry \(index)" + (recordPosition.map { " record \($0)" } ?? "") + " skipped: \(error)"
    }
}

extension MetadataImage {
    // MARK: committed entries

    /// Applies one committed Raft entry's payload, records in batch order, and records the
    /// entry as applied. Records that cannot apply are skipped and returned; every node skips
    /// the same ones, so images stay equal. An undecodable payload skips the whole entry.
    ///
    /// Apply a run of committed entries to one `var` image: after the first entry copies the
    /// shared storage, every further change is in place, so a run costs O(image + records).
    /// - Precondition: `index` follows `lastAppliedIndex` (entries apply once, in order).
    @discardableResult
    public mutating func applyCommitted(payload: [UInt8], index: RaftIndex, term: RaftTerm) -> [SkippedRecord] {
        let batch: MetadataRecordBatch
        do {
            batch = try MetadataRecordBatch.decode(payload)
        } catch {
            markApplied(index: index, term: term)
            return [SkippedRecord(index: index, recordPosition: nil, error: .undecodable(error))]
        }
        return applyCommitted(batch, index: index, term: term)
    }

    /// `applyCommitted(payload:index:term:)` for an already decoded batch.
    @discardableResult
    public mutating func applyCommitted(_ batch: MetadataRecordBatch, index: RaftIndex, term: RaftTerm) -> [SkippedRecord] {
        var skipped: [SkippedRecord] = []
        for (position, record) in batch.records.enumerated() {
            do {
                try apply(record)
            } catch {
                skipped.append(SkippedRecord(index: index, recordPosition: position, error: error))
            }
        }
        markApplied(index: index, term: term)
        return skipped
    }

    /// Records that an entry without metadata (Raft's leader-change entry) has been applied.
    public mutating func markApplied(index: RaftIndex, term: RaftTerm) {
        precondition(index > lastAppliedIndex, "entry \(index) applied after \(lastAppliedIndex)")
        precondition(term >= lastAppliedTerm, "term \(term) after \(lastAppliedTerm)")
        lastAppliedIndex = index
        lastAppliedTerm = term
    }

    // MARK: single records

    /// The image with `record` applied (the controller uses this for its working image).
    public func applying(_ record: MetadataRecord) throws(MetadataError) -> MetadataImage {
        var next = self
        try next.apply(record)
        return next
    }

    /// Applies `record`, or throws and leaves the image unchanged: every check runs before
    /// the first mutation.
    public mutating func apply(_ record: MetadataRecord) throws(MetadataError) {
        switch record {
        case .registerBroker(let r):
            brokers[r.nodeID] = BrokerRegistration(
                nodeID: r.nodeID, incarnation: r.incarnation, clientEndpoint: r.clientEndpoint,
                interNodeEndpoint: r.interNodeEndpoint, isFenced: true)
        case .fenceBroker(let r):
            try checkIncarnation(r.nodeID, r.incarnation)
            brokers[r.nodeID]!.isFenced = true
        case .unfenceBroker(let r):
            try checkIncarnation(r.nodeID, r.incarnation)
            brokers[r.nodeID]!.isFenced = false
        case .topic(let r):
            guard r.topicID != .zero else { throw .invalidTopicID }
            guard topicIDsByName[r.name] == nil else { throw .topicNameExists(r.name) }
            guard topicsByID[r.topicID] == nil else { throw .topicIDExists(r.topicID) }
            topicsByID[r.topicID] = TopicImage(name: r.name, topicID: r.topicID)
            topicIDsByName[r.name] = r.topicID
        case .partition(let r):
            try applyPartition(r)
        case .partitionChange(let r):
            try applyPartitionChange(r)
        case .removeTopic(let r):
            guard let topic = topicsByID[r.topicID] else { throw .unknownTopicID(r.topicID) }
            topicsByID[r.topicID] = nil
            topicIDsByName[topic.name] = nil
            dropOffsets(of: topic.name)
        case .config(let r):
            switch r.resource {
            case .topic(let name):
                guard let id = topicIDsByName[name] else { throw .unknownTopicName(name) }
                topicsByID[id]!.configs[r.key] = r.value
            case .broker(let id):
                brokerConfigs[id, default: [:]][r.key] = r.value
                if brokerConfigs[id]!.isEmpty { brokerConfigs[id] = nil }
            }
        case .producerIDs(let r):
            guard r.blockStart == nextProducerID else {
                throw .producerIDBlockNotNext(expected: nextProducerID, record: r.blockStart)
            }
            guard r.blockSize > 0 else { throw .invalidProducerIDBlock("size \(r.blockSize)") }
            let (end, overflow) = r.blockStart.rawValue.addingReportingOverflow(r.blockSize)
            guard !overflow else { throw .invalidProducerIDBlock("producer ids exhausted") }
            nextProducerID = ProducerID(end)
        case .groupState(let r):
            try applyGroupState(r)
        case .offsetCommit(let r):
            try applyOffsetCommit(r)
        case .removeGroup(let r):
            guard groups[r.groupID] != nil else { throw .unknownGroup(r.groupID) }
            groups[r.groupID] = nil
        case .removeOffset(let r):
            guard groups[r.groupID] != nil else { throw .unknownGroup(r.groupID) }
            groups[r.groupID]!.offsets[TopicPartition(r.topic, r.partition)] = nil
        }
    }

    private func checkIncarnation(_ id: NodeID, _ incarnation: KafkaUUID) throws(MetadataError) {
        guard let broker = brokers[id] else { throw .unknownBroker(id) }
        guard broker.incarnation == incarnation else {
            throw .staleIncarnation(id, registered: broker.incarnation, record: incarnation)
        }
    }

    private mutating func applyPartition(_ r: PartitionRecord) throws(MetadataError) {
        // Reads go through the dictionary without binding the topic, so the append below finds
        // the partitions array uniquely referenced and does not copy it.
        guard let count = topicsByID[r.topicID]?.partitions.count else { throw .unknownTopicID(r.topicID) }
        let expected = PartitionIndex(Int32(count))
        guard r.partition == expected else {
            throw .partitionIndexNotNext(r.topicID, r.partition, expected: expected)
        }
        let state = PartitionState(
            replicas: r.replicas, isr: r.isr, leader: r.leader, leaderEpoch: r.leaderEpoch,
            partitionEpoch: r.partitionEpoch, isrRestartedUnclean: r.isrRestartedUnclean)
        if let why = state.violation() { throw .invalidPartitionState(r.topicID, r.partition, why) }
        topicsByID[r.topicID]!.partitions.append(state)
    }

    private mutating func applyPartitionChange(_ r: PartitionChangeRecord) throws(MetadataError) {
        guard topicsByID[r.topicID] != nil else { throw .unknownTopicID(r.topicID) }
        guard var state = topicsByID[r.topicID]!.partition(r.partition) else {
            throw .unknownPartition(r.topicID, r.partition)
        }
        guard r.partitionEpoch == state.partitionEpoch.next else {
            throw .stalePartitionEpoch(r.topicID, r.partition, current: state.partitionEpoch, record: r.partitionEpoch)
        }
        state.partitionEpoch = r.partitionEpoch
        if let leader = r.leader {
            state.leader = leader
            state.leaderEpoch = state.leaderEpoch.next
        }
        if let isr = r.isr { state.isr = isr }
        if let replicas = r.replicas { state.replicas = replicas }
        if let unclean = r.isrRestartedUnclean { state.isrRestartedUnclean = unclean }
        if let why = state.violation() { throw .invalidPartitionState(r.topicID, r.partition, why) }
        topicsByID[r.topicID]!.partitions[Int(r.partition.rawValue)] = state
    }
}
