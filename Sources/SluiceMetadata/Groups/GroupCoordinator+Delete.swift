import SluiceCore
import SluiceWire

/// One group's DeleteGroups result.
public struct DeleteGroupOutcome: Hashable, Sendable {
    public var groupID: String
    public var errorCode: KafkaErrorCode
    public init(groupID: String, errorCode: KafkaErrorCode) {
        self.groupID = groupID
        self.errorCode = errorCode
    }
}

/// One partition of OffsetDelete.
public struct OffsetDeletePartition: Hashable, Sendable {
    public var topic: String
    public var partition: PartitionIndex
    public init(topic: String, partition: PartitionIndex) {
        self.topic = topic
        self.partition = partition
    }
}

/// OffsetDelete's answer: a group-level error, else one error per partition in request order.
public struct OffsetDeleteOutcome: Hashable, Sendable {
    public var errorCode: KafkaErrorCode
    public var partitionErrors: [KafkaErrorCode]
    public init(errorCode: KafkaErrorCode, partitionErrors: [KafkaErrorCode]) {
        self.errorCode = errorCode
        self.partitionErrors = partitionErrors
    }
}

extension GroupCoordinator {
    /// DeleteGroups (Kafka's `GroupMetadataManager.groupDelete`): only a group without members
    /// goes (NON_EMPTY_GROUP otherwise), with every committed offset, through a
    /// `RemoveGroupRecord`; an unknown group is GROUP_ID_NOT_FOUND.
    public mutating func deleteGroups(_ groupIDs: [String], token: GroupRequestToken) -> GroupOutput {
        var out = GroupOutput()
        var outcomes: [DeleteGroupOutcome] = []
        for id in groupIDs {
            let code = deleteError(id)
            outcomes.append(DeleteGroupOutcome(groupID: id, errorCode: code))
            guard code == .none else { continue }
            if groups[id]!.isDurable { out.records.append(.removeGroup(RemoveGroupRecord(groupID: id))) }
            groups[id] = nil
        }
        out.replies.append(GroupReply(token: token, body: .deleteGroups(outcomes)))
        return out
    }

    private func deleteError(_ id: String) -> KafkaErrorCode {
        if id.isEmpty || id.utf8.count > Self.stringBytesMax { return .invalidGroupID }
        guard let group = groups[id] else { return .groupIDNotFound }
        return group.status == .empty && group.pending.isEmpty ? .none : .nonEmptyGroup
    }

    /// OffsetDelete (KIP-496, Kafka's `OffsetMetadataManager.deleteOffsets`): an empty group's
    /// offsets all go; a consumer group with members keeps those of topics its members
    /// subscribe to (GROUP_SUBSCRIBED_TO_TOPIC for each); a non-consumer group with members
    /// is NON_EMPTY_GROUP. A partition with nothing committed is answered NONE, as Kafka does.
    public mutating func deleteOffsets(
        _ groupID: String, _ partitions: [OffsetDeletePartition], token: GroupRequestToken
    ) -> GroupOutput {
        var out = GroupOutput()
        func reply(_ code: KafkaErrorCode, _ partitionErrors: [KafkaErrorCode] = []) -> GroupOutput {
            out.replies.append(GroupReply(token: token, body: .offsetDelete(OffsetDeleteOutcome(errorCode: code, partitionErrors: partitionErrors))))
            return out
        }
        if groupID.isEmpty || groupID.utf8.count > Self.stringBytesMax { return reply(.invalidGroupID) }
        guard let group = groups[groupID] else { return reply(.groupIDNotFound) }
        let hasMembers = !(group.status == .empty && group.pending.isEmpty)
        if hasMembers && group.protocolType != Self.consumerProtocolType { return reply(.nonEmptyGroup) }
        let subscribed = hasMembers ? group.subscribedTopics : []
        var codes: [KafkaErrorCode] = []
        for p in partitions {
            guard let topic = try? TopicName(validating: p.topic), p.partition.rawValue >= 0 else {
                codes.append(.unknownTopicOrPartition)
                continue
            }
            if subscribed?.contains(topic.rawValue) ?? true {
                codes.append(.groupSubscribedToTopic)
                continue
            }
            codes.append(.none)
            if group.isDurable {
                out.records.append(.removeOffset(RemoveOffsetRecord(groupID: groupID, topic: topic, partition: p.partition)))
            }
        }
        return reply(.none, codes)
    }

    /// The protocol type of Kafka consumers; only their subscriptions can be read.
    static let consumerProtocolType = "consumer"
}

extension ClassicGroup {
    /// The topics the members subscribe to, from their metadata for the chosen protocol (or
    /// their first, during a join phase); nil when one cannot be read, which counts as
    /// subscribed to everything (Kafka's `isSubscribedToTopic` does the same).
    var subscribedTopics: Set<String>? {
        var topics: Set<String> = []
        for member in members {
            guard let metadata = protocolName.flatMap(member.metadata(for:)) ?? member.protocols.first?.metadata,
                let (_, subscription) = try? ConsumerProtocolSubscription.decodeVersionPrefixed(metadata)
            else { return nil }
            topics.formUnion(subscription.topics)
        }
        return topics
    }
}
