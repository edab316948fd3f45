import SluiceCore

/// How a group moves partitions between members in a rebalance.
///
/// Kafka's `ConsumerPartitionAssignor.RebalanceProtocol`: an `eager` member gives up every
/// partition before it rejoins; a `cooperative` member keeps its partitions through the
/// rebalance and gives up only those the new assignment takes away, which then reach their new
/// owner in a second rebalance.
public enum RebalanceProtocol: Sendable, Hashable {
    case eager
    case cooperative
}

/// One member's subscription as the group leader's assignor sees it (decoded from the
/// member's JoinGroup metadata).
public struct GroupMemberSubscription: Sendable, Hashable {
    /// The member id the coordinator gave the member.
    public var memberID: String
    /// The member's static instance id (`group.instance.id`), if it has one.
    public var groupInstanceID: String?
    /// The topics the member wants partitions of.
    public var topics: Set<TopicName>
    /// The partitions the member owned when it joined (subscription v1+; empty for eager members).
    public var ownedPartitions: [TopicPartition]
    /// The generation in which the member owned `ownedPartitions` (subscription v2+, or the
    /// cooperative-sticky user data; `.none` if unknown).
    public var generation: GenerationID
    /// The subscription version the member sent; the leader answers at no higher version.
    public var subscriptionVersion: Int16

    /// Creates a subscription; `ownedPartitions` and `generation` matter only to sticky assignors.
    public init(
        memberID: String, groupInstanceID: String? = nil, topics: Set<TopicName>,
        ownedPartitions: [TopicPartition] = [], generation: GenerationID = .none,
        subscriptionVersion: Int16 = ConsumerProtocolCodec.subscriptionVersion
    ) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
        self.ownedPartitions = ownedPartitions
        self.generation = generation
        self.subscriptionVersion = subscriptionVersion
    }
}

/// A client-side partition assignor, run by the group leader (Kafka's
/// `ConsumerPartitionAssignor`). Its `name` is the JoinGroup protocol name, so members of
/// different client libraries share a group only through the same name and semantics.
public protocol PartitionAssignor: Sendable {
    /// The protocol name in JoinGroup (e.g. Kafka's `"range"`, `"cooperative-sticky"`).
    var name: String { get }
    /// Whether members using this assignor may keep partitions through a rebalance.
    var rebalanceProtocol: RebalanceProtocol { get }
    /// Opaque bytes this member attaches to its subscription (nil: none).
    func subscriptionUserData(generation: GenerationID) -> [UInt8]?
    /// Assigns partitions to every member: `partitionCounts` holds each subscribed topic's
    /// partition count (topics missing from it are not assigned). The result has an entry,
    /// possibly empty, for every member. Must be deterministic: the same input gives the same
    /// output on any member that happens to lead.
    func assign(
        partitionCounts: [TopicName: Int32], members: [GroupMemberSubscription]
    ) -> [String: [TopicPartition]]
}

extension PartitionAssignor {
    /// No user data by default.
    public func subscriptionUserData(generation: GenerationID) -> [UInt8]? { nil }
}

extension GroupMemberSubscription {
    /// Kafka's member order for assignors (`AbstractPartitionAssignor.MemberInfo.compareTo`):
    /// static members first, by instance id, then dynamic members by member id.
    static func assignorOrder(_ lhs: GroupMemberSubscription, _ rhs: GroupMemberSubscription) -> Bool {
        switch (lhs.groupInstanceID, rhs.groupInstanceID) {
        case let (l?, r?): return l == r ? lhs.memberID < rhs.memberID : l < r
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return lhs.memberID < rhs.memberID
        }
    }
}
