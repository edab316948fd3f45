import SluiceCore
import SluiceWire
import Testing

@testable import SluiceClient

@Suite("CooperativeStickyAssignor")
struct CooperativeStickyAssignorTests {
    typealias F = AssignorFixture
    let assignor = CooperativeStickyAssignor()

    /// Runs rebalances the way a group does (each member reports what it owns after revoking
    /// what the last assignment took away) until the assignment stops changing; returns the
    /// final assignment and how many rebalances it took.
    func settle(
        _ owned: [String: [TopicPartition]], partitions: Int32, topics: Set<TopicName> = [AssignorFixture.topic]
    ) -> (assignment: [String: [TopicPartition]], rounds: Int, everOverlapped: Bool) {
        var owned = owned
        var generation: GenerationID = 1
        var overlapped = false
        for round in 1...10 {
            let members = owned.keys.sorted().map {
                F.member($0, topics: topics, owned: owned[$0] ?? [], generation: generation)
            }
            let result = assignor.assign(partitionCounts: Dictionary(uniqueKeysWithValues: topics.map { ($0, partitions) }), members: members)
            // A partition goes to a member only if it already owned it or nobody owns it now;
            // after sync each member owns exactly its new assignment.
            let ownedNow = Set(owned.values.flatMap { $0 })
            for (member, partitions) in result {
                let mine = Set(owned[member] ?? [])
                overlapped = overlapped || partitions.contains { !mine.contains($0) && ownedNow.contains($0) }
            }
            overlapped = overlapped || !F.noPartitionTwice(result)
            if result == owned { return (result, round, overlapped) }
            owned = result
            generation = GenerationID(generation.rawValue + 1)
        }
        return (owned, 10, overlapped)
    }

    @Test func firstAssignmentIsBalancedAndComplete() {
        let result = assignor.assign(partitionCounts: [F.topic: 6], members: [F.member("a"), F.member("b")])
        #expect(F.counts(result) == [3, 3])
        #expect(Set(result.values.flatMap { $0 }) == Set((0..<6).map { F.tp($0) }))
        #expect(F.noPartitionTwice(result))
    }

    @Test func aJoiningMemberGetsPartitionsOnlyAfterTheirOwnersRevoke() {
        let owned = ["a": [F.tp(0), F.tp(1), F.tp(2)], "b": [F.tp(3), F.tp(4), F.tp(5)]]
        let members = owned.map { F.member($0.key, owned: $0.value, generation: 1) } + [F.member("c")]
        let first = assignor.assign(partitionCounts: [F.topic: 6], members: members)
        // Phase one: a and b each give up one partition, nobody receives it yet.
        #expect(first["a"]?.count == 2)
        #expect(first["b"]?.count == 2)
        #expect(first["c"] == [])
        #expect(Set(first["a"] ?? []).isSubset(of: Set(owned["a"] ?? [])))
        #expect(Set(first["b"] ?? []).isSubset(of: Set(owned["b"] ?? [])))
        // Phase two: with the partitions released, c receives them.
        let second = assignor.assign(
            partitionCounts: [F.topic: 6],
            members: first.map { F.member($0.key, owned: $0.value, generation: 2) })
        #expect(F.counts(second) == [2, 2, 2])
        #expect(second["a"] == first["a"])
        #expect(second["b"] == first["b"])
        #expect(F.noPartitionTwice(second))
    }

    @Test func settlesBalancedWithoutOverlapWhenMembersJoin() {
        let start = ["m1": (0..<12).map { F.tp($0) }, "m2": [], "m3": [], "m4": []]
        let (final, rounds, overlapped) = settle(start, partitions: 12)
        #expect(!overlapped)
        #expect(rounds <= 3)
        #expect(F.counts(final) == [3, 3, 3, 3])
        #expect(Set(final["m1"] ?? []).isSubset(of: Set(start["m1"] ?? [])))
    }

    @Test func aLeavingMembersPartitionsMoveInOneRebalanceAndOthersKeepTheirs() {
        let owned = ["a": [F.tp(0), F.tp(1)], "b": [F.tp(2), F.tp(3)]]  // c (4, 5) has left
        let result = assignor.assign(
            partitionCounts: [F.topic: 6], members: owned.map { F.member($0.key, owned: $0.value, generation: 3) })
        #expect(F.counts(result) == [3, 3])
        #expect(Set(result["a"] ?? []).isSuperset(of: [F.tp(0), F.tp(1)]))
        #expect(Set(result["b"] ?? []).isSuperset(of: [F.tp(2), F.tp(3)]))
        #expect(Set(result.values.flatMap { $0 }).count == 6)
    }

    @Test func aStaleGenerationsClaimLosesToTheCurrentOwner() {
        let members = [
            F.member("a", owned: [F.tp(0), F.tp(1)], generation: 5),
            F.member("b", owned: [F.tp(1), F.tp(2)], generation: 4),
        ]
        let result = assignor.assign(partitionCounts: [F.topic: 4], members: members)
        #expect(result["a"]?.contains(F.tp(1)) == true)
        #expect(result["b"]?.contains(F.tp(1)) == false)
        #expect(F.noPartitionTwice(result))
    }

    @Test func twoClaimsInOneGenerationAreWithheldUntilRevoked() {
        let members = [
            F.member("a", owned: [F.tp(0), F.tp(1)], generation: 5),
            F.member("b", owned: [F.tp(1), F.tp(2)], generation: 5),
        ]
        let result = assignor.assign(partitionCounts: [F.topic: 4], members: members)
        #expect(result.values.allSatisfy { !$0.contains(F.tp(1)) })
        #expect(F.noPartitionTwice(result))
    }

    @Test func balancesOverDifferentSubscriptions() {
        let members = [
            F.member("a", topics: [F.topic]),
            F.member("b", topics: [F.topic, F.other]),
            F.member("c", topics: [F.other]),
        ]
        let result = assignor.assign(partitionCounts: [F.topic: 4, F.other: 2], members: members)
        #expect(F.counts(result) == [2, 2, 2])
        #expect(result["a"]?.allSatisfy { $0.topic == F.topic } == true)
        #expect(result["c"]?.allSatisfy { $0.topic == F.other } == true)
        #expect(Set(result.values.flatMap { $0 }).count == 6)
    }

    @Test func randomMembershipChangesKeepEveryInvariant() {
        var rng = SplitMix64(seed: 0x5EED)
        var owned: [String: [TopicPartition]] = ["m0": []]
        for step in 0..<60 {
            // Add or remove a member, then settle as the group would.
            if owned.count > 1, rng.next() % 3 == 0 {
                owned.removeValue(forKey: owned.keys.sorted()[Int(rng.next() % UInt64(owned.count))])
            } else if owned.count < 8 {
                owned["m\(step + 1)"] = []
            }
            let (final, rounds, overlapped) = settle(owned, partitions: 10)
            #expect(!overlapped, "step \(step)")
            #expect(rounds <= 3, "step \(step)")
            #expect(Set(final.values.flatMap { $0 }).count == 10, "step \(step)")
            let counts = F.counts(final)
            #expect((counts.last ?? 0) - (counts.first ?? 0) <= 1, "step \(step)")
            owned = final
        }
    }

    @Test func isDeterministicWhateverTheInputOrder() {
        let members = (0..<4).map { F.member("m\($0)", owned: [F.tp(Int32($0))], generation: 2) }
        let first = assignor.assign(partitionCounts: [F.topic: 9], members: members)
        let second = assignor.assign(partitionCounts: [F.topic: 9], members: members.reversed())
        #expect(first == second)
    }

    @Test func userDataCarriesTheGenerationAsKafkaWritesIt() throws {
        #expect(assignor.subscriptionUserData(generation: 258) == [0, 0, 1, 2])
        #expect(assignor.subscriptionUserData(generation: .none) == [0xff, 0xff, 0xff, 0xff])
    }
}

/// A tiny deterministic generator for randomized tests (seeded; no global randomness).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
