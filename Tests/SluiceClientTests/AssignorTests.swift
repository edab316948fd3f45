import SluiceCore
import SluiceWire
import Testing

@testable import SluiceClient

/// Helpers shared by the assignor suites.
enum AssignorFixture {
    static let topic = TopicName(rawValue: "events")!
    static let other = TopicName(rawValue: "audit")!

    static func tp(_ p: Int32, _ topic: TopicName = topic) -> TopicPartition { TopicPartition(topic, PartitionIndex(p)) }

    static func member(
        _ id: String, topics: Set<TopicName> = [topic], owned: [TopicPartition] = [], generation: GenerationID = .none
    ) -> GroupMemberSubscription {
        GroupMemberSubscription(memberID: id, topics: topics, ownedPartitions: owned, generation: generation)
    }

    /// Every partition at most once across members.
    static func noPartitionTwice(_ assignment: [String: [TopicPartition]]) -> Bool {
        let all = assignment.values.flatMap { $0 }
        return Set(all).count == all.count
    }

    static func counts(_ assignment: [String: [TopicPartition]]) -> [Int] {
        assignment.values.map(\.count).sorted()
    }
}

@Suite("RangeAssignor")
struct RangeAssignorTests {
    typealias F = AssignorFixture

    @Test func givesConsecutiveRangesAndExtrasToTheFirstMembers() {
        let result = RangeAssignor().assign(
            partitionCounts: [F.topic: 7], members: [F.member("c"), F.member("a"), F.member("b")])
        #expect(result["a"] == [F.tp(0), F.tp(1), F.tp(2)])
        #expect(result["b"] == [F.tp(3), F.tp(4)])
        #expect(result["c"] == [F.tp(5), F.tp(6)])
    }

    @Test func assignsEachTopicIndependentlyLikeKafka() {
        // Kafka's documented example: two topics of 3 partitions, two members.
        let result = RangeAssignor().assign(
            partitionCounts: [F.topic: 3, F.other: 3],
            members: [F.member("m1", topics: [F.topic, F.other]), F.member("m2", topics: [F.topic, F.other])])
        #expect(result["m1"] == [F.tp(0, F.other), F.tp(1, F.other), F.tp(0), F.tp(1)])
        #expect(result["m2"] == [F.tp(2, F.other), F.tp(2)])
    }

    @Test func onlySubscribersGetATopicAndEveryMemberHasAnEntry() {
        let result = RangeAssignor().assign(
            partitionCounts: [F.topic: 2, F.other: 2],
            members: [F.member("a", topics: [F.topic]), F.member("b", topics: [F.other]), F.member("c", topics: [])])
        #expect(result["a"] == [F.tp(0), F.tp(1)])
        #expect(result["b"] == [F.tp(0, F.other), F.tp(1, F.other)])
        #expect(result["c"] == [])
    }

    @Test func moreMembersThanPartitionsLeavesTheLastEmpty() {
        let result = RangeAssignor().assign(
            partitionCounts: [F.topic: 2], members: [F.member("a"), F.member("b"), F.member("c")])
        #expect(result["a"] == [F.tp(0)])
        #expect(result["b"] == [F.tp(1)])
        #expect(result["c"] == [])
    }

    @Test func staticMembersSortFirstByInstanceID() {
        var s1 = F.member("z-member")
        s1.groupInstanceID = "instance-1"
        let result = RangeAssignor().assign(partitionCounts: [F.topic: 3], members: [F.member("a"), s1])
        #expect(result["z-member"] == [F.tp(0), F.tp(1)])
        #expect(result["a"] == [F.tp(2)])
    }

    @Test func isDeterministicWhateverTheInputOrder() {
        let members = (0..<5).map { F.member("m\($0)", topics: [F.topic, F.other]) }
        let first = RangeAssignor().assign(partitionCounts: [F.topic: 11, F.other: 4], members: members)
        let second = RangeAssignor().assign(partitionCounts: [F.other: 4, F.topic: 11], members: members.reversed())
        #expect(first == second)
        #expect(F.noPartitionTwice(first))
        #expect(first.values.map(\.count).reduce(0, +) == 15)
    }
}
