import SluiceCore

// The coordinator's requests, version-neutral: the broker's handlers translate each Kafka
// version into these (CLIENTS.md §4) and the outcomes back.

/// A protocol a joining member supports, with its metadata (opaque bytes).
public struct GroupProtocol: Hashable, Sendable {
    public var name: String
    public var metadata: [UInt8]
    public init(name: String, metadata: [UInt8]) {
        self.name = name
        self.metadata = metadata
    }
}

/// JoinGroup.
public struct JoinGroupInput: Hashable, Sendable {
    public var groupID: String
    /// `""` for a member joining for the first time.
    public var memberID: String
    /// `group.instance.id` of a static member (JoinGroup v5+).
    public var groupInstanceID: String?
    public var protocolType: String
    /// In the member's order of preference.
    public var protocols: [GroupProtocol]
    public var sessionTimeoutMs: Int32
    /// The handler passes the session timeout for JoinGroup v0.
    public var rebalanceTimeoutMs: Int32
    public var clientID: String
    public var clientHost: String
    /// True for JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id.
    public var requireKnownMemberID: Bool

    public init(
        groupID: String, memberID: String, groupInstanceID: String? = nil, protocolType: String,
        protocols: [GroupProtocol], sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, clientID: String,
        clientHost: String, requireKnownMemberID: Bool
    ) {
        self.groupID = groupID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocols = protocols
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.clientID = clientID
        self.clientHost = clientHost
        self.requireKnownMemberID = requireKnownMemberID
    }
}

/// The leader's assignment for one member.
public struct SyncGroupAssignment: Hashable, Sendable {
    public var memberID: String
    public var assignment: [UInt8]
    public init(memberID: String, assignment: [UInt8]) {
        self.memberID = memberID
        self.assignment = assignment
    }
}

/// SyncGroup.
public struct SyncGroupInput: Hashable, Sendable {
    public var groupID: String
    public var generationID: GenerationID
    public var memberID: String
    public var groupInstanceID: String?
    /// Only the leader sends assignments; followers send none.
    public var assignments: [SyncGroupAssignment]

    public init(
        groupID: String, generationID: GenerationID, memberID: String, groupInstanceID: String? = nil,
        assignments: [SyncGroupAssignment] = []
    ) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.assignments = assignments
    }
}

/// Heartbeat.
public struct HeartbeatInput: Hashable, Sendable {
    public var groupID: String
    public var generationID: GenerationID
    public var memberID: String
    public var groupInstanceID: String?

    public init(groupID: String, generationID: GenerationID, memberID: String, groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// One member leaving. A static member may leave by instance id alone (`memberID == ""`).
public struct LeaveGroupMember: Hashable, Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    public init(memberID: String, groupInstanceID: String? = nil) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// LeaveGroup: v0-2 carry one member, v3+ a batch.
public struct LeaveGroupInput: Hashable, Sendable {
    public var groupID: String
    public var members: [LeaveGroupMember]
    public init(groupID: String, members: [LeaveGroupMember]) {
        self.groupID = groupID
        self.members = members
    }
}

/// One partition's offset to commit.
public struct OffsetCommitPartition: Hashable, Sendable {
    /// As the client sent it; an invalid name gets UNKNOWN_TOPIC_OR_PARTITION.
    public var topic: String
    public var partition: PartitionIndex
    public var offset: Offset
    /// `LeaderEpoch.unknown` before OffsetCommit v6.
    public var leaderEpoch: LeaderEpoch
    public var metadata: String?

    public init(
        topic: String, partition: PartitionIndex, offset: Offset, leaderEpoch: LeaderEpoch = .unknown,
        metadata: String? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
    }
}

/// OffsetCommit.
public struct OffsetCommitInput: Hashable, Sendable {
    public var groupID: String
    /// `GenerationID.none` (-1) for a simple consumer's or admin's commit.
    public var generationID: GenerationID
    public var memberID: String
    public var groupInstanceID: String?
    public var partitions: [OffsetCommitPartition]

    public init(
        groupID: String, generationID: GenerationID, memberID: String, groupInstanceID: String? = nil,
        partitions: [OffsetCommitPartition]
    ) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.partitions = partitions
    }
}
