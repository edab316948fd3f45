import SluiceCore
import SluiceWire

/// The bytes inside JoinGroup protocol metadata and SyncGroup assignments for protocol type
/// `"consumer"`, built on SluiceWire's `ConsumerProtocolSubscription`/`Assignment` with their
/// INT16 version prefix.
///
/// Versions: this member writes subscription v3 (topics, user data, owned partitions,
/// generation, rack), as the Java client and librdkafka ≥ 2.3 do; kafka-python writes v0 and
/// older librdkafka v1. The leader answers each member with an assignment at no higher version
/// than that member's subscription (the assignment layout is the same from v0 to v3, and a
/// reader ignores a newer version's extra bytes).
public enum ConsumerProtocolCodec {
    /// The JoinGroup protocol type of every consumer group.
    public static let protocolType = "consumer"
    /// The subscription version this member sends.
    public static let subscriptionVersion: Int16 = 3

    /// This member's subscription metadata for one assignor.
    public static func encodeSubscription(
        topics: [TopicName], ownedPartitions: [TopicPartition], generation: GenerationID, userData: [UInt8]?
    ) -> [UInt8] {
        let subscription = ConsumerProtocolSubscription(
            topics: topics.map(\.rawValue).sorted(),
            userData: userData,
            ownedPartitions: grouped(ownedPartitions).map { .init(topic: $0.topic.rawValue, partitions: $0.partitions) },
            generationID: generation)
        return subscription.encodedVersionPrefixed(version: subscriptionVersion)
    }

    /// Decodes a member's metadata (any version) for the leader's assignor. Topic names that
    /// are not legal are dropped (they cannot have partitions). The generation comes from the
    /// v2+ field, else from cooperative-sticky's 4-byte user data, else `.none`.
    public static func decodeSubscription(
        memberID: String, groupInstanceID: String?, metadata: [UInt8]
    ) throws(WireError) -> GroupMemberSubscription {
        let (version, message) = try ConsumerProtocolSubscription.decodeVersionPrefixed(metadata)
        var generation = message.generationID
        if version < 2, let data = message.userData, data.count == 4 {
            generation = GenerationID(data.reduce(Int32(0)) { $0 << 8 | Int32($1) })
        }
        var owned: [TopicPartition] = []
        for entry in message.ownedPartitions {
            guard let topic = TopicName(rawValue: entry.topic) else { continue }
            owned += entry.partitions.map { TopicPartition(topic, $0) }
        }
        return GroupMemberSubscription(
            memberID: memberID, groupInstanceID: groupInstanceID,
            topics: Set(message.topics.compactMap { TopicName(rawValue: $0) }),
            ownedPartitions: owned, generation: generation, subscriptionVersion: version)
    }

    /// One member's assignment bytes for SyncGroup.
    public static func encodeAssignment(_ partitions: [TopicPartition], version: Int16) -> [UInt8] {
        let assignment = ConsumerProtocolAssignment(
            assignedPartitions: grouped(partitions).map { .init(topic: $0.topic.rawValue, partitions: $0.partitions) })
        let clamped = min(max(version, ConsumerProtocolAssignment.versions.lowerBound),
                          ConsumerProtocolAssignment.versions.upperBound)
        return assignment.encodedVersionPrefixed(version: clamped)
    }

    /// Decodes this member's assignment from SyncGroup; empty bytes mean "nothing assigned"
    /// (what the coordinator stores for members the leader left out).
    public static func decodeAssignment(_ bytes: [UInt8]) throws(WireError) -> [TopicPartition] {
        guard !bytes.isEmpty else { return [] }
        let (_, message) = try ConsumerProtocolAssignment.decodeVersionPrefixed(bytes)
        var result: [TopicPartition] = []
        for entry in message.assignedPartitions {
            guard let topic = TopicName(rawValue: entry.topic) else { continue }
            result += entry.partitions.map { TopicPartition(topic, $0) }
        }
        return Array(Set(result)).sorted()
    }

    /// Partitions grouped per topic, both sorted (a stable wire form).
    static func grouped(_ partitions: [TopicPartition]) -> [(topic: TopicName, partitions: [PartitionIndex])] {
        Dictionary(grouping: Set(partitions), by: \.topic)
            .map { ($0.key, $0.value.map(\.partition).sorted()) }
            .sorted { $0.topic < $1.topic }
    }
}
