import SluiceCore

/// Kafka's `RangeAssignor` (protocol name `"range"`), eager.
///
/// Per topic: the members subscribed to it in `assignorOrder` (member id for dynamic members)
/// and its partitions in index order; each member gets `count / members` consecutive
/// partitions, and the first `count % members` members one more. The same arithmetic as
/// Kafka's, so a Swift leader and a Java, librdkafka or kafka-python leader agree.
public struct RangeAssignor: PartitionAssignor {
    public let name = "range"
    public let rebalanceProtocol = RebalanceProtocol.eager

    public init() {}

    public func assign(
        partitionCounts: [TopicName: Int32], members: [GroupMemberSubscription]
    ) -> [String: [TopicPartition]] {
        var result: [String: [TopicPartition]] = [:]
        for member in members { result[member.memberID] = [] }
        let ordered = members.sorted(by: GroupMemberSubscription.assignorOrder)
        for topic in partitionCounts.keys.sorted() {
            let count = Int(max(0, partitionCounts[topic] ?? 0))
            let subscribers = ordered.filter { $0.topics.contains(topic) }
            guard !subscribers.isEmpty, count > 0 else { continue }
            let perMember = count / subscribers.count
            let extra = count % subscribers.count
            for (i, member) in subscribers.enumerated() {
                let start = perMember * i + min(i, extra)
                let length = perMember + (i < extra ? 1 : 0)
                for p in start..<(start + length) {
                    result[member.memberID, default: []].append(TopicPartition(topic, PartitionIndex(Int32(p))))
                }
            }
        }
        return result
    }
}
