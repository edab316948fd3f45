import SluiceCore
import SluiceWire

/// Where `resetGroupOffsets` moves a group's committed offsets.
public enum OffsetResetTarget: Sendable, Hashable {
    /// Each partition's log start.
    case earliest
    /// Each partition's log end: the group skips everything not yet read.
    case latest
    /// This offset, within [log start, log end] (outside, the nearer end).
    case offset(Offset)
    /// The first offset whose record is at or after this time (ms since the epoch); the log
    /// end where no record is that late.
    case timestamp(Int64)
    /// The committed offset moved by this many (negative: back), within the log.
    case shift(Int64)
}

/// One partition of an offset reset.
public struct GroupOffsetReset: Sendable, Hashable {
    public var partition: TopicPartition
    /// The committed offset before, nil if there was none.
    public var previous: Offset?
    public var new: Offset
}

extension AdminClient {
    /// Moves `groupID`'s committed offsets of `partitions` to `target` (Kafka's
    /// `kafka-consumer-groups --reset-offsets`). The group must have no members: a running
    /// consumer would commit over the reset (NON_EMPTY_GROUP otherwise). With `dryRun` nothing
    /// is committed and the plan is returned. Commits go to the group's coordinator as admin
    /// commits (OffsetCommit v7 with generation -1 and no member), which the coordinator
    /// accepts for an empty group only.
    public func resetGroupOffsets(_ groupID: String, partitions: [TopicPartition], to target: OffsetResetTarget,
                                  dryRun: Bool) async throws(SluiceClientError) -> [GroupOffsetReset] {
        let group = try await describeGroup(groupID)
        guard group.members.isEmpty else {
            throw .server(.nonEmptyGroup, api: .offsetCommit, resource: "group \(groupID)",
                          message: "it has \(group.members.count) active member(s) (\(group.state)); stop its consumers first")
        }
        let committed = try await committedOffsets(groupID)
        let bounds = try await logOffsets(of: partitions)
        var atTime: [TopicPartition: Offset] = [:]
        if case .timestamp(let ms) = target {
            var byLeader: [NodeID: [TopicPartition]] = [:]
            for partition in partitions { byLeader[try await cluster.leader(of: partition), default: []].append(partition) }
            for (leader, parts) in byLeader {
                let found = try await offsets(of: parts, at: ms, from: leader)
                for (partition, offset) in found where offset.rawValue >= 0 { atTime[partition] = offset }
            }
        }
        var plan: [GroupOffsetReset] = []
        for partition in partitions.sorted() {
            guard let (start, end) = bounds[partition] else {
                throw .server(.leaderNotAvailable, api: .listOffsets, resource: "\(partition)", message: "its leader did not answer")
            }
            func clamp(_ o: Int64) -> Offset { Offset(min(max(o, start.rawValue), end.rawValue)) }
            let new: Offset
            switch target {
            case .earliest: new = start
            case .latest: new = end
            case .offset(let o): new = clamp(o.rawValue)
            case .timestamp: new = atTime[partition] ?? end
            case .shift(let by):
                guard let current = committed[partition] else {
                    throw .server(.invalidRequest, api: .offsetCommit, resource: "\(partition)",
                                  message: "group \(groupID) has no committed offset there to shift")
                }
                new = clamp(current.rawValue &+ by)
            }
            plan.append(GroupOffsetReset(partition: partition, previous: committed[partition], new: new))
        }
        guard !dryRun, !plan.isEmpty else { return plan }
        let topics = Dictionary(grouping: plan, by: \.partition.topic).sorted { $0.key < $1.key }.map { topic, entries in
            OffsetCommitRequest.OffsetCommitRequestTopic(name: topic.rawValue, partitions: entries.map {
                .init(partitionIndex: $0.partition.partition, committedOffset: $0.new, committedLeaderEpoch: .unknown,
                      commitTimestamp: -1, committedMetadata: "")
            })
        }
        let request = OffsetCommitRequest(groupID: groupID, generationIDOrMemberEpoch: -1, memberID: "",
                                          groupInstanceID: nil, retentionTimeMs: -1, topics: topics)
        let response = try await GroupCoordinatorCall.run(cluster, group: groupID, api: .offsetCommit) { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 7)
            let first = answer.topics.lazy.flatMap(\.partitions).map { KafkaErrorCode.from($0.errorCode) }.first { $0 != .none } ?? .none
            return (answer, GroupMembership.isCoordinatorError(first) ? first : .none)
        }
        for topic in response.topics {
            for p in topic.partitions where p.errorCode != 0 {
                throw .server(KafkaErrorCode.from(p.errorCode), api: .offsetCommit, resource: "\(topic.name)-\(p.partitionIndex) in group \(groupID)",
                              message: KafkaErrorCode.from(p.errorCode) == .unknownMemberID ? "the group gained a member during the reset" : nil)
            }
        }
        return plan
    }
}
