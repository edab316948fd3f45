import SluiceCore
import SluiceWire
@_spi(Testing) import SluiceMetadata

/// The group simulation's safety checks. Each returns a violation or nil; the simulation
/// stops at the first one and reports it with the seed, the time and the trace.
struct GroupSimulationChecker {
    /// Partition owners by group and generation, from delivered SyncGroup replies
    /// ("group/generation" → "topic-partition" → owner).
    var owners: [String: [String: String]] = [:]
    /// Highest offset acknowledged (OffsetCommit answered NONE) per group and partition.
    var acknowledged: [String: [TopicPartition: Int64]] = [:]
    /// Highest generation a delivered JoinGroup or SyncGroup told a member, per group.
    var toldGeneration: [String: GenerationID] = [:]
    var acknowledgedCommits = 0
    var generationsSeen = 0
    var livenessReached = false

    /// Within one generation no partition goes to two members.
    mutating func checkAssignmentDelivered(_ c: SimConsumer, group: String, partitions: [TopicPartition]) -> String? {
        let key = "\(group)/\(c.generation)"
        if owners[key] == nil { generationsSeen += 1 }
        for tp in partitions {
            let name = tp.description
            if let owner = owners[key]?[name], owner != c.ownerKey {
                return "\(group) generation \(c.generation): \(name) assigned to both \(owner) and \(c.ownerKey)"
            }
            owners[key, default: [:]][name] = c.ownerKey
        }
        return nil
    }

    /// Committed offsets never move backwards (consumers only commit forward, so a backward
    /// move is a stale or lost commit).
    func checkBeforeApply(_ records: [MetadataRecord], _ image: MetadataImage) -> String? {
        var latest: [String: Int64] = [:]
        for record in records {
            guard case .offsetCommit(let r) = record else { continue }
            let key = "\(r.groupID)/\(r.topic)-\(r.partition)"
            let previous = latest[key] ?? image.groups[r.groupID]?.offsets[TopicPartition(r.topic, r.partition)]?.offset.rawValue
            if let previous, r.offset.rawValue < previous {
                return "\(r.groupID) \(r.topic)-\(r.partition): committed offset moves back from \(previous) to \(r.offset)"
            }
            latest[key] = r.offset.rawValue
        }
        return nil
    }

    /// At the moment its entry commits: an accepted OffsetCommit came from a member of the
    /// group's current generation (or generation -1 on an empty group); a JoinGroup or
    /// SyncGroup answer names a generation the log holds.
    mutating func checkReplyAtCommit(_ body: GroupReplyBody, request: SimRequest, _ image: MetadataImage) -> String? {
        switch (body, request.body) {
        case (.commit(let outcome), .commit(let input)) where outcome.errorCodes.contains(.none):
            guard let state = image.groups[input.groupID]?.state else { return "commit accepted for unknown group \(input.groupID)" }
            let simple = input.generationID == .none && state.phase == .empty
            let member = input.generationID == state.generation && state.members.contains { $0.memberID == input.memberID }
            if !simple && !member {
                return "\(input.groupID): commit by \(input.memberID) in generation \(input.generationID) accepted, "
                    + "but the group is in generation \(state.generation) with members \(state.members.map(\.memberID))"
            }
        case (.join(let outcome), .join(let input)) where outcome.errorCode == .none:
            return checkGeneration(input.groupID, outcome.generationID, image)
        case (.sync(let outcome), .sync(let input)) where outcome.errorCode == .none:
            return checkGeneration(input.groupID, input.generationID, image)
        default: break
        }
        return nil
    }

    /// A JoinGroup or SyncGroup answer is released with the entry that made its generation
    /// durable, or after it: the image holds exactly that generation then.
    private mutating func checkGeneration(_ group: String, _ generation: GenerationID, _ image: MetadataImage) -> String? {
        let logged = image.groups[group]?.state.generation
        guard logged == generation else {
            return "\(group): a reply names generation \(generation) but the log holds \(logged.map(\.description) ?? "no group")"
        }
        toldGeneration[group] = max(toldGeneration[group] ?? .none, generation)
        return nil
    }

    /// An acknowledged commit: its offsets must survive every failover.
    mutating func acknowledge(_ c: SimConsumer, _ group: String) {
        acknowledgedCommits += 1
        for tp in c.assignment {
            if let offset = c.positions[tp] { acknowledged[group, default: [:]][tp] = max(acknowledged[group]?[tp] ?? 0, offset) }
        }
    }

    /// After a failover every acknowledged offset and every generation a member was told is
    /// in the image the new coordinator starts from.
    func checkAcknowledgedSurvive(_ image: MetadataImage) -> String? {
        for group in acknowledged.keys.sorted() {
            for (tp, offset) in acknowledged[group]!.sorted(by: { $0.key < $1.key }) {
                let committed = image.groups[group]?.offsets[tp]?.offset.rawValue ?? -1
                if committed < offset { return "\(group) \(tp): acknowledged offset \(offset) but the image has \(committed)" }
            }
        }
        for group in toldGeneration.keys.sorted() {
            let generation = image.groups[group]?.state.generation ?? .none
            if generation < toldGeneration[group]! {
                return "\(group): members were told generation \(toldGeneration[group]!) but the image has \(generation)"
            }
        }
        return nil
    }
}

