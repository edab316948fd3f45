import SluiceCore
import SluiceWire

/// A parked request, chosen by the driver; the output says which token gets which answer.
public typealias GroupRequestToken = UInt64

/// What one coordinator step decided.
public struct GroupOutput: Sendable {
    /// Records to propose as ONE metadata-log entry (empty: nothing to write). The
    /// coordinator's in-memory state already assumes they commit.
    public var records: [MetadataRecord]
    /// Answers to send once `records` (and every earlier output's records) have committed.
    public var replies: [GroupReply]

    public init(records: [MetadataRecord] = [], replies: [GroupReply] = []) {
        self.records = records
        self.replies = replies
    }

    /// Appends another step's output after this one.
    public mutating func append(_ other: GroupOutput) {
        records += other.records
        replies += other.replies
    }
}

/// The answer to one parked request.
public struct GroupReply: Sendable {
    public var token: GroupRequestToken
    public var body: GroupReplyBody
    public init(token: GroupRequestToken, body: GroupReplyBody) {
        self.token = token
        self.body = body
    }
}

/// The outcome of a request, by API.
public enum GroupReplyBody: Sendable, Hashable {
    case join(JoinGroupOutcome)
    case sync(SyncGroupOutcome)
    case leave(LeaveGroupOutcome)
    case commit(OffsetCommitOutcome)
    case deleteGroups([DeleteGroupOutcome])
    case offsetDelete(OffsetDeleteOutcome)
}

/// A member as the leader's JoinGroup response lists it.
public struct JoinGroupMember: Hashable, Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    /// Its metadata for the chosen protocol.
    public var metadata: [UInt8]
    public init(memberID: String, groupInstanceID: String?, metadata: [UInt8]) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.metadata = metadata
    }
}

/// JoinGroup's answer.
public struct JoinGroupOutcome: Hashable, Sendable {
    public var errorCode: KafkaErrorCode
    public var generationID: GenerationID
    public var protocolType: String?
    public var protocolName: String?
    /// `""` when there is none (errors).
    public var leaderID: String
    /// The member's id: the one generated for a new member, also with MEMBER_ID_REQUIRED.
    public var memberID: String
    /// Every member with its metadata for the leader; empty for followers.
    public var members: [JoinGroupMember]

    public init(
        errorCode: KafkaErrorCode, generationID: GenerationID = .none, protocolType: String? = nil,
        protocolName: String? = nil, leaderID: String = "", memberID: String, members: [JoinGroupMember] = []
    ) {
        self.errorCode = errorCode
        self.generationID = generationID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.leaderID = leaderID
        self.memberID = memberID
        self.members = members
    }
}

/// SyncGroup's answer.
public struct SyncGroupOutcome: Hashable, Sendable {
    public var errorCode: KafkaErrorCode
    public var protocolType: String?
    public var protocolName: String?
    /// The member's assignment (empty with an error).
    public var assignment: [UInt8]
    public init(errorCode: KafkaErrorCode, protocolType: String? = nil, protocolName: String? = nil, assignment: [UInt8] = []) {
        self.errorCode = errorCode
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }
}

/// One member's LeaveGroup result.
public struct LeaveGroupMemberOutcome: Hashable, Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    public var errorCode: KafkaErrorCode
    public init(memberID: String, groupInstanceID: String?, errorCode: KafkaErrorCode) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.errorCode = errorCode
    }
}

/// LeaveGroup's answer. For v0-2 (one member) the handler reports the member's error at the
/// top level when the top level is NONE.
public struct LeaveGroupOutcome: Hashable, Sendable {
    public var errorCode: KafkaErrorCode
    public var members: [LeaveGroupMemberOutcome]
    public init(errorCode: KafkaErrorCode, members: [LeaveGroupMemberOutcome]) {
        self.errorCode = errorCode
        self.members = members
    }
}

/// OffsetCommit's answer: one error code per partition, in request order.
public struct OffsetCommitOutcome: Hashable, Sendable {
    public var errorCodes: [KafkaErrorCode]
    public init(errorCodes: [KafkaErrorCode]) { self.errorCodes = errorCodes }
}

/// One member as DescribeGroups shows it.
public struct GroupMemberDescription: Hashable, Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    public var clientID: String
    public var clientHost: String
    /// Metadata for the chosen protocol; empty unless the group is Stable (as Kafka).
    public var metadata: [UInt8]
    /// Empty unless the group is Stable.
    public var assignment: [UInt8]
}

/// DescribeGroups' answer for one group. An unknown group is `"Dead"` with no error, as Kafka.
public struct GroupDescription: Hashable, Sendable {
    public var groupID: String
    public var errorCode: KafkaErrorCode
    /// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
    public var state: String
    public var protocolType: String
    /// The chosen protocol when Stable, else "".
    public var protocolName: String
    public var members: [GroupMemberDescription]
}

/// ListGroups' entry for one group.
public struct GroupListing: Hashable, Sendable {
    public var groupID: String
    public var protocolType: String
    public var state: String
}
