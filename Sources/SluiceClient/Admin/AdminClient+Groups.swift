import SluiceCore
import SluiceWire

/// A group as ListGroups reports it.
public struct ConsumerGroupListing: Sendable, Hashable {
    /// The group's id.
    public var groupID: String
    /// `"consumer"` for consumer groups; other protocol types (e.g. Kafka Connect) are listed too.
    public var protocolType: String
}

/// One member of a described group.
public struct ConsumerGroupMember: Sendable, Hashable {
    /// The id the coordinator gave the member.
    public var memberID: String
    /// The member's static instance id, if it has one.
    public var groupInstanceID: String?
    /// The client id the member's requests carry.
    public var clientID: String
    /// The address the member connects from, as the coordinator saw it.
    public var clientHost: String
    /// The topics the member subscribes to (decoded from its metadata; empty if undecodable).
    public var subscribedTopics: [TopicName]
    /// The partitions the group's leader assigned it (decoded; empty during a rebalance).
    public var assignment: [TopicPartition]
}

/// Where a group stands on one partition: its committed offset, the partition's log end
/// offset, and the difference, the records the group has still to read.
public struct GroupPartitionLag: Sendable, Hashable {
    /// The topic partition.
    public var partition: TopicPartition
    /// nil: nothing committed.
    public var committedOffset: Offset?
    /// nil: the partition's leader did not answer.
    public var logEndOffset: Offset?
    /// The member the partition is assigned to now, if any.
    public var memberID: String?
    /// `logEndOffset - committedOffset`; nil if either is unknown (as Kafka's tools show "-").
    public var lag: Int64? {
        guard let logEndOffset, let committedOffset else { return nil }
        return max(0, logEndOffset.rawValue - committedOffset.rawValue)
    }
}

/// A described group: its state, the protocol its members agreed on, the members with their
/// assignments, and the lag of every partition it has committed or been assigned.
public struct ConsumerGroupDescription: Sendable, Hashable {
    /// The group's id.
    public var groupID: String
    /// Kafka's state names: `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`,
    /// `Dead` (a group the coordinator does not know).
    public var state: String
    /// `"consumer"` for consumer groups (empty for a group without members).
    public var protocolType: String
    /// The chosen assignor (e.g. `range`); empty while none is chosen.
    public var protocolName: String
    /// The members, sorted by member id.
    public var members: [ConsumerGroupMember]
    /// Sorted by partition.
    public var partitions: [GroupPartitionLag]
    /// The sum of every partition's known lag.
    public var totalLag: Int64 { partitions.reduce(0) { $0 + ($1.lag ?? 0) } }
}

extension AdminClient {
    /// Every group on every node (ListGroups v2 to each node, as Kafka's admin clients ask;
    /// a node that does not answer is skipped), sorted by id.
    public func listGroups() async throws(SluiceClientError) -> [ConsumerGroupListing] {
        let metadata = try await cluster.metadata(topics: [], refresh: true)
        var groups: Set<ConsumerGroupListing> = []
        var answered = false
        for broker in metadata.sortedBrokers {
            guard let response = try? await cluster.send(ListGroupsRequest(), to: broker.id, maxVersion: 2),
                  response.errorCode == 0 else { continue }
            answered = true
            for group in response.groups {
                groups.insert(ConsumerGroupListing(groupID: group.groupID, protocolType: group.protocolType))
            }
        }
        guard answered else { throw .noNodeReachable(metadata.sortedBrokers.map { "\($0.address): no ListGroups answer" }) }
        return groups.sorted { $0.groupID < $1.groupID }
    }

    /// Describes `groupID` at its coordinator (DescribeGroups v4), with each member's
    /// subscription and assignment decoded, and the lag per partition: the log end offset
    /// (ListOffsets latest, on each leader) minus the committed offset (OffsetFetch of all the
    /// group's partitions), for the CLI's `group describe`.
    public func describeGroup(_ groupID: String) async throws(SluiceClientError) -> ConsumerGroupDescription {
        let described = try await GroupCoordinatorCall.run(cluster, group: groupID, api: .describeGroups) {
            node throws(SluiceClientError) in
            let answer = try await cluster.send(DescribeGroupsRequest(groups: [groupID]), to: node, maxVersion: 4)
            guard let group = answer.groups.first(where: { $0.groupID == groupID }) else {
                throw .malformedResponse(api: "DescribeGroups", address: "node \(node)", detail: "no entry for \(groupID)")
            }
            return (group, KafkaErrorCode.from(group.errorCode))
        }
        let members = described.members.map { member in
            let subscription = try? ConsumerProtocolCodec.decodeSubscription(
                memberID: member.memberID, groupInstanceID: member.groupInstanceID, metadata: member.memberMetadata)
            return ConsumerGroupMember(
                memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                clientHost: member.clientHost, subscribedTopics: (subscription?.topics ?? []).sorted(),
                assignment: (try? ConsumerProtocolCodec.decodeAssignment(member.memberAssignment)) ?? [])
        }
        let committed = try await committedOffsets(groupID)
        var owners: [TopicPartition: String] = [:]
        for member in members { for partition in member.assignment { owners[partition] = member.memberID } }
        let partitions = Set(committed.keys).union(owners.keys).sorted()
        let ends = (try? await logOffsets(of: partitions)) ?? [:]
        return ConsumerGroupDescription(
            groupID: groupID, state: described.groupState, protocolType: described.protocolType,
            protocolName: described.protocolData, members: members.sorted { $0.memberID < $1.memberID },
            partitions: partitions.map {
                GroupPartitionLag(partition: $0, committedOffset: committed[$0], logEndOffset: ends[$0]?.end,
                                  memberID: owners[$0])
            })
    }

    /// Every committed offset of `groupID` (OffsetFetch v5 with null topics: all of them).
    public func committedOffsets(_ groupID: String) async throws(SluiceClientError) -> [TopicPartition: Offset] {
        let response = try await GroupCoordinatorCall.run(cluster, group: groupID, api: .offsetFetch) {
            node throws(SluiceClientError) in
            let answer = try await cluster.send(OffsetFetchRequest(groupID: groupID, topics: nil), to: node, maxVersion: 5)
            return (answer, KafkaErrorCode.from(answer.errorCode))
        }
        let result = response.committedOffsets
        return result
    }
}
