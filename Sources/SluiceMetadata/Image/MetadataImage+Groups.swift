import SluiceCore

extension MetadataImage {
    /// What is wrong with a group state record, or `nil` if it may apply.
    static func groupStateViolation(_ r: GroupStateRecord) -> String? {
        if r.groupID.isEmpty { return "empty group id" }
        if r.generation.rawValue < 0 { return "negative generation \(r.generation)" }
        if (r.phase == .empty) != r.members.isEmpty { return "phase \(r.phase) with \(r.members.count) members" }
        let ids = r.members.map(\.memberID)
        if ids.contains("") { return "a member without id" }
        if Set(ids).count != ids.count { return "duplicate member ids" }
        let instances = r.members.compactMap(\.groupInstanceID)
        if Set(instances).count != instances.count { return "duplicate group instance ids" }
        if !r.members.isEmpty {
            guard let leader = r.leaderID, ids.contains(leader) else { return "leader is not a member" }
            if r.protocolName == nil { return "members without a protocol" }
        }
        if r.phase == .stable && r.members.contains(where: { $0.assignment == nil }) {
            return "stable with a member lacking its assignment"
        }
        return nil
    }

    mutating func applyGroupState(_ r: GroupStateRecord) throws(MetadataError) {
        if let why = Self.groupStateViolation(r) { throw .invalidGroupState(r.groupID, why) }
        if groups[r.groupID] != nil {
            groups[r.groupID]!.state = r
        } else {
            groups[r.groupID] = GroupImage(state: r)
        }
    }

    mutating func applyOffsetCommit(_ r: OffsetCommitRecord) throws(MetadataError) {
        guard !r.groupID.isEmpty else { throw .invalidGroupState(r.groupID, "empty group id") }
        guard r.partition.rawValue >= 0 else {
            throw .invalidGroupState(r.groupID, "offset for negative partition \(r.partition)")
        }
        let committed = CommittedOffset(
            offset: r.offset, leaderEpoch: r.leaderEpoch, metadata: r.metadata, commitWallMs: r.commitWallMs)
        let key = TopicPartition(r.topic, r.partition)
        if groups[r.groupID] != nil {
            groups[r.groupID]!.offsets[key] = committed
        } else {
            let state = GroupImage.initialState(groupID: r.groupID, wallMs: r.commitWallMs)
            groups[r.groupID] = GroupImage(state: state, offsets: [key: committed])
        }
    }

    /// A removed topic's committed offsets go with it, from every group.
    mutating func dropOffsets(of topic: TopicName) {
        for id in groups.keys where groups[id]!.offsets.keys.contains(where: { $0.topic == topic }) {
            groups[id]!.offsets = groups[id]!.offsets.filter { $0.key.topic != topic }
        }
    }

    /// The records that rebuild every group: by group id, its state, then its offsets by topic
    /// and partition.
    func groupSnapshotRecords() -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for id in groups.keys.sorted() {
            let group = groups[id]!
            records.append(.groupState(group.state))
            for key in group.offsets.keys.sorted() {
                let offset = group.offsets[key]!
                records.append(
                    .offsetCommit(
                        OffsetCommitRecord(
                            groupID: id, topic: key.topic, partition: key.partition, offset: offset.offset,
                            leaderEpoch: offset.leaderEpoch, metadata: offset.metadata,
                            commitWallMs: offset.commitWallMs)))
            }
        }
        return records
    }
}
