import SluiceCore
import SluiceWire

/// The durable phase of a consumer group. `PreparingRebalance` is deliberately absent: a join
/// phase lives only in the coordinator's memory (DESIGN §2.4); the log records its outcome.
public enum GroupPhase: UInt8, Hashable, Sendable, CaseIterable {
    /// No members; offsets may still be committed by simple consumers (generation -1).
    case empty = 0
    /// A join phase completed: generation, members and leader are fixed, assignments are not.
    case completingRebalance = 1
    /// The leader's SyncGroup stored every member's assignment.
    case stable = 2
}

/// One member of a group as the log records it.
public struct GroupMemberRecord: Hashable, Sendable {
    public var memberID: String
    /// Set for static members (`group.instance.id`).
    public var groupInstanceID: String?
    public var clientID: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    public var rebalanceTimeoutMs: Int32
    /// The member's metadata for the group's chosen protocol (opaque to the broker).
    public var subscription: [UInt8]
    /// The leader's assignment for this member; `nil` until SyncGroup completes.
    public var assignment: [UInt8]?

    public init(
        memberID: String, groupInstanceID: String?, clientID: String, clientHost: String,
        sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, subscription: [UInt8], assignment: [UInt8]?
    ) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.clientID = clientID
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.subscription = subscription
        self.assignment = assignment
    }
}

/// The whole durable state of one consumer group; it replaces the group's previous state and
/// keeps its committed offsets. Written when a join phase completes (new generation, members,
/// no assignments, `completingRebalance`), when SyncGroup completes (assignments, `stable`),
/// when a static member replaces its old member id, and when the group becomes empty.
public struct GroupStateRecord: Hashable, Sendable {
    public var groupID: String
    /// `""` for a group that only simple consumers have used.
    public var protocolType: String
    public var generation: GenerationID
    /// The protocol chosen for this generation; `nil` when the group is empty.
    public var protocolName: String?
    public var leaderID: String?
    public var phase: GroupPhase
    /// Wall-clock time of this change; an empty group's offsets expire from here.
    public var stateChangeWallMs: Int64
    /// In join order; empty exactly when `phase == .empty`.
    public var members: [GroupMemberRecord]

    public init(
        groupID: String, protocolType: String, generation: GenerationID, protocolName: String?,
        leaderID: String?, phase: GroupPhase, stateChangeWallMs: Int64, members: [GroupMemberRecord]
    ) {
        self.groupID = groupID
        self.protocolType = protocolType
        self.generation = generation
        self.protocolName = protocolName
        self.leaderID = leaderID
        self.phase = phase
        self.stateChangeWallMs = stateChangeWallMs
        self.members = members
    }
}

/// A committed offset of one partition for one group. A group with no state yet is created
/// empty (a simple consumer's or admin's commit).
public struct OffsetCommitRecord: Hashable, Sendable {
    public var groupID: String
    public var topic: TopicName
    public var partition: PartitionIndex
    public var offset: Offset
    /// `LeaderEpoch.unknown` (-1) when the client sent none.
    public var leaderEpoch: LeaderEpoch
    public var metadata: String?
    public var commitWallMs: Int64

    public init(
        groupID: String, topic: TopicName, partition: PartitionIndex, offset: Offset,
        leaderEpoch: LeaderEpoch, metadata: String?, commitWallMs: Int64
    ) {
        self.groupID = groupID
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitWallMs = commitWallMs
    }
}

/// Drops a group and all its committed offsets (offsets retention of an empty group, and
/// DeleteGroups).
public struct RemoveGroupRecord: Hashable, Sendable {
    public var groupID: String
    public init(groupID: String) { self.groupID = groupID }
}

/// Drops one committed offset of a group (OffsetDelete). Applying it where nothing is
/// committed changes nothing; the group must exist.
public struct RemoveOffsetRecord: Hashable, Sendable {
    public var groupID: String
    public var topic: TopicName
    public var partition: PartitionIndex
    public init(groupID: String, topic: TopicName, partition: PartitionIndex) {
        self.groupID = groupID
        self.topic = topic
        self.partition = partition
    }
}
