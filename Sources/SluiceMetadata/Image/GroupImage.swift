import SluiceCore

/// An offset a group committed for one partition, as OffsetFetch returns it.
public struct CommittedOffset: Hashable, Sendable {
    public var offset: Offset
    /// `LeaderEpoch.unknown` when the client sent none.
    public var leaderEpoch: LeaderEpoch
    public var metadata: String?
    public var commitWallMs: Int64

    public init(offset: Offset, leaderEpoch: LeaderEpoch, metadata: String?, commitWallMs: Int64) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitWallMs = commitWallMs
    }
}

/// A consumer group as the metadata log knows it: its last `GroupStateRecord` and its
/// committed offsets. A group that only ever received offset commits has the initial state
/// (no protocol type, generation 0, empty, no members, `stateChangeWallMs` of its first commit).
public struct GroupImage: Hashable, Sendable {
    /// The durable state; `state.groupID` is the group's id.
    public internal(set) var state: GroupStateRecord
    public internal(set) var offsets: [TopicPartition: CommittedOffset]

    public var groupID: String { state.groupID }

    /// The state of a group that no member has joined yet (Kafka's new group: generation 0).
    public static func initialState(groupID: String, wallMs: Int64) -> GroupStateRecord {
        GroupStateRecord(
            groupID: groupID, protocolType: "", generation: 0, protocolName: nil, leaderID: nil, phase: .empty,
            stateChangeWallMs: wallMs, members: [])
    }

    public init(state: GroupStateRecord, offsets: [TopicPartition: CommittedOffset] = [:]) {
        self.state = state
        self.offsets = offsets
    }

    /// The latest commit time among the offsets (`nil` without offsets).
    public var lastCommitWallMs: Int64? { offsets.values.map(\.commitWallMs).max() }
}
