import SluiceCore

/// Kafka's `CooperativeStickyAssignor` (protocol name `"cooperative-sticky"`), cooperative.
///
/// Three rules, in order of priority:
/// 1. **No partition has two owners.** A partition the new assignment moves from one member to
///    another is withheld from its new owner in this rebalance; its old owner sees it missing,
///    revokes it (committing its progress) and rejoins, and the next rebalance, where nobody
///    owns it any more, assigns it (Kafka's two-phase cooperative move, KIP-429).
/// 2. **Balance.** No member has more than one partition more than another member that could
///    take one of its partitions (equal subscriptions: counts differ by at most one).
/// 3. **Stickiness.** A member keeps the partitions it owned (from its subscription's owned
///    partitions, trusted only at the highest generation that claims them) unless balance needs
///    them elsewhere.
///
/// The result depends only on the input (members in `assignorOrder`, partitions sorted), so any
/// member leading the group computes the same assignment.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public let name = "cooperative-sticky"
    public let rebalanceProtocol = RebalanceProtocol.cooperative

    public init() {}

    /// Java's CooperativeStickyAssignor user data: the owner's generation as an INT32, for
    /// leaders that read subscriptions older than v2 (which carry no generation field).
    public func subscriptionUserData(generation: GenerationID) -> [UInt8]? {
        let raw = UInt32(bitPattern: generation.rawValue)
        return [UInt8(raw >> 24 & 0xff), UInt8(raw >> 16 & 0xff), UInt8(raw >> 8 & 0xff), UInt8(raw & 0xff)]
    }

    public func assign(
        partitionCounts: [TopicName: Int32], members: [GroupMemberSubscription]
    ) -> [String: [TopicPartition]] {
        let ordered = members.sorted(by: GroupMemberSubscription.assignorOrder)
        let rank = Dictionary(ordered.enumerated().map { ($1.memberID, $0) }, uniquingKeysWith: { a, _ in a })
        var eligible: [TopicPartition: [String]] = [:]
        var all: [TopicPartition] = []
        for topic in partitionCounts.keys.sorted() {
            let subscribers = ordered.filter { $0.topics.contains(topic) }.map(\.memberID)
            guard !subscribers.isEmpty else { continue }
            for p in 0..<max(0, partitionCounts[topic] ?? 0) {
                let tp = TopicPartition(topic, PartitionIndex(p))
                all.append(tp)
                eligible[tp] = subscribers
            }
        }
        let previousOwners = Self.previousOwners(ordered, eligible: eligible)
        var state = Balancer(members: ordered.map(\.memberID), rank: rank, eligible: eligible)
        for tp in all {
            if let owners = previousOwners[tp], owners.count == 1, let owner = owners.first {
                state.give(tp, to: owner)
            }
        }
        for tp in all where state.owner[tp] == nil {
            if let target = state.leastLoaded(among: eligible[tp] ?? []) { state.give(tp, to: target) }
        }
        state.balance(movesMax: all.count * max(1, ordered.count))
        var result: [String: [TopicPartition]] = [:]
        for member in ordered {
            result[member.memberID] = (state.assigned[member.memberID] ?? []).sorted().filter { tp in
                // Rule 1: a partition still owned by someone else waits for its revocation.
                guard let owners = previousOwners[tp] else { return true }
                return owners == [member.memberID]
            }
        }
        return result
    }

    /// Each partition's claimants at the highest generation that claims it (a claim from an
    /// older generation is stale: that member lost the partition in a rebalance it missed).
    private static func previousOwners(
        _ members: [GroupMemberSubscription], eligible: [TopicPartition: [String]]
    ) -> [TopicPartition: Set<String>] {
        var best: [TopicPartition: (generation: GenerationID, owners: Set<String>)] = [:]
        for member in members {
            for tp in Set(member.ownedPartitions) where eligible[tp]?.contains(member.memberID) == true {
                if let current = best[tp] {
                    if member.generation > current.generation {
                        best[tp] = (member.generation, [member.memberID])
                    } else if member.generation == current.generation {
                        best[tp] = (current.generation, current.owners.union([member.memberID]))
                    }
                } else {
                    best[tp] = (member.generation, [member.memberID])
                }
            }
        }
        return best.mapValues(\.owners)
    }
}

/// The mutable working state of one sticky assignment: who holds what, and the moves that
/// even it out.
private struct Balancer {
    let members: [String]
    let rank: [String: Int]
    let eligible: [TopicPartition: [String]]
    var assigned: [String: Set<TopicPartition>] = [:]
    var owner: [TopicPartition: String] = [:]

    init(members: [String], rank: [String: Int], eligible: [TopicPartition: [String]]) {
        self.members = members
        self.rank = rank
        self.eligible = eligible
        for member in members { assigned[member] = [] }
    }

    func count(_ member: String) -> Int { assigned[member]?.count ?? 0 }

    mutating func give(_ tp: TopicPartition, to member: String) {
        if let previous = owner[tp] { assigned[previous]?.remove(tp) }
        owner[tp] = member
        assigned[member, default: []].insert(tp)
    }

    /// The member with the fewest partitions among `candidates`, ties broken by member order.
    func leastLoaded(among candidates: [String]) -> String? {
        candidates.min { (count($0), rank[$0] ?? 0) < (count($1), rank[$1] ?? 0) }
    }

    /// Moves partitions from the most to the least loaded members while some member holds at
    /// least two more than a member that could take one of them, directly or through a chain
    /// of members with different subscriptions (a moves to b while b moves one of its own to c).
    /// Each step lowers the sum of squared counts, so the loop ends; `movesMax` bounds it anyway.
    mutating func balance(movesMax: Int) {
        var moves = 0
        while moves < movesMax, let path = nextPath() {
            for (tp, receiver) in path { give(tp, to: receiver) }
            moves += 1
        }
    }

    /// The shortest chain of moves (breadth-first, in a fixed order) from the most loaded
    /// member to one holding at least two fewer; nil when the assignment is balanced.
    private func nextPath() -> [(TopicPartition, String)]? {
        let byLoad = members.sorted { (count($0), rank[$1] ?? 0) > (count($1), rank[$0] ?? 0) }
        for donor in byLoad {
            let limit = count(donor) - 2
            var parent: [String: (from: String, tp: TopicPartition)] = [:]
            var visited: Set<String> = [donor]
            var queue = [donor]
            var head = 0
            while head < queue.count {
                let holder = queue[head]
                head += 1
                // A holder's highest partitions move first, so low partitions stay put.
                for tp in (assigned[holder] ?? []).sorted(by: >) {
                    let takers = (eligible[tp] ?? []).filter { !visited.contains($0) }
                        .sorted { (count($0), rank[$0] ?? 0) < (count($1), rank[$1] ?? 0) }
                    for taker in takers {
                        visited.insert(taker)
                        parent[taker] = (holder, tp)
                        if count(taker) <= limit { return path(to: taker, parent: parent) }
                        queue.append(taker)
                    }
                }
            }
        }
        return nil
    }

    private func path(to receiver: String, parent: [String: (from: String, tp: TopicPartition)]) -> [(TopicPartition, String)] {
        var steps: [(TopicPartition, String)] = []
        var current = receiver
        while let step = parent[current] {
            steps.append((step.tp, current))
            current = step.from
        }
        return steps
    }
}
