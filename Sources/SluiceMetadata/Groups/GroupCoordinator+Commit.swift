import SluiceCore
import SluiceWire

extension GroupCoordinator {
    /// OffsetCommit (CLIENTS.md §4.8, Kafka's `ClassicGroup.validateOffsetCommit`): one
    /// error code per partition in request order; accepted offsets go out as records and
    /// are answered once they commit.
    public mutating func commitOffsets(
        _ request: OffsetCommitInput, token: GroupRequestToken, nowMs: Int64, wallMs: Int64
    ) -> GroupOutput {
        noteClocks(nowMs: nowMs, wallMs: wallMs)
        var out = GroupOutput()
        if let error = commitError(request) {
            let codes = [KafkaErrorCode](repeating: error, count: request.partitions.count)
            out.replies.append(GroupReply(token: token, body: .commit(OffsetCommitOutcome(errorCodes: codes))))
            return out
        }
        var codes: [KafkaErrorCode] = []
        for p in request.partitions {
            guard let topic = try? TopicName(validating: p.topic), p.partition.rawValue >= 0 else {
                codes.append(.unknownTopicOrPartition)
                continue
            }
            guard (p.metadata?.utf8.count ?? 0) <= Self.offsetMetadataBytesMax else {
                codes.append(.offsetMetadataTooLarge)
                continue
            }
            codes.append(.none)
            out.records.append(
                .offsetCommit(
                    OffsetCommitRecord(
                        groupID: request.groupID, topic: topic, partition: p.partition, offset: p.offset,
                        leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitWallMs: wallMs)))
        }
        if !out.records.isEmpty {
            if groups[request.groupID] == nil {
                groups[request.groupID] = ClassicGroup(groupID: request.groupID, wallMs: wallMs)
            }
            groups[request.groupID]!.lastCommitWallMs = wallMs
            groups[request.groupID]!.isDurable = true
        }
        if let i = groups[request.groupID]?.index(of: request.memberID) {
            // A commit from a member shows it is alive, as a heartbeat does.
            groups[request.groupID]!.members[i].sessionDeadlineMs =
                nowMs + Int64(groups[request.groupID]!.members[i].sessionTimeoutMs)
        }
        out.replies.append(GroupReply(token: token, body: .commit(OffsetCommitOutcome(errorCodes: codes))))
        return out
    }

    /// The error every partition of the request gets, or nil to check partitions one by one.
    private func commitError(_ request: OffsetCommitInput) -> KafkaErrorCode? {
        if request.groupID.isEmpty || request.groupID.utf8.count > Self.stringBytesMax { return .invalidGroupID }
        guard let group = groups[request.groupID] else {
            // A simple or admin commit creates the group; a member's commit needs one.
            return request.generationID.rawValue < 0 ? nil : .illegalGeneration
        }
        if request.generationID.rawValue < 0 && group.status == .empty { return nil }
        if injectedBug == .acceptCommitsFromUnknownMembers { return nil }
        if request.generationID.rawValue >= 0 || !request.memberID.isEmpty || request.groupInstanceID != nil {
            if let error = group.memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) {
                return error
            }
            if request.generationID != group.generation { return .illegalGeneration }
        } else if group.status != .empty {
            return .unknownMemberID
        }
        return group.status == .completingRebalance ? .rebalanceInProgress : nil
    }
}
