import Foundation
import SluiceBroker
import SluiceCore
import SluiceRaft
import Testing

/// Three `RaftDriver`s in this process over loopback TCP and real files (30 ms ticks, so an
/// election timeout is 300–600 ms: 10 ms ticks lost leaderships on a loaded 2-core run).
@Suite("Raft over TCP and disk", .serialized, .timeLimit(.minutes(1)))
struct RaftClusterTests {
    static func payload(_ i: Int) -> [UInt8] { Array("entry-\(i)".utf8) }

    func waitForApplied(_ nodes: [RaftTestNode], count: Int, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil(timeout: timeout, "\(count) entries applied on \(nodes.map(\.id))") {
            for node in nodes where await node.stateMachine.applied.count < count { return false }
            return true
        }
    }

    @Test("three nodes elect exactly one leader, and its proposals are applied on all three in the same order")
    func electsOneLeaderAndReplicatesInOrder() async throws {
        let cluster = try await RaftTestCluster()
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.waitForLeader()
        // Concurrent proposers: the order is the leader's, and every node must apply it.
        let indexes = try await withThrowingTaskGroup(of: RaftIndex.self) { group in
            for i in 0..<20 { group.addTask { try await leader.driver!.propose(Self.payload(i)) } }
            return try await group.reduce(into: [RaftIndex]()) { $0.append($1) }
        }
        #expect(Set(indexes).count == 20)
        // propose returns only once applied locally.
        #expect(await leader.stateMachine.applied.count == 20)
        try await waitForApplied(cluster.nodes, count: 20)
        let orders = await cluster.nodes.asyncMap { await $0.stateMachine.applied }
        #expect(orders[0] == orders[1] && orders[1] == orders[2])
        #expect(Set(orders[0]) == Set((0..<20).map(Self.payload)))
        await cluster.shutdown()
    }

    @Test("a proposal on a follower fails with the leader's id as the hint")
    func followerRefusesWithLeaderHint() async throws {
        let cluster = try await RaftTestCluster()
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.waitForLeader()
        let follower = cluster.nodes.first { $0.id != leader.id }!
        await #expect(throws: RaftProposalError.notLeader(leaderHint: leader.id)) {
            try await follower.driver!.propose([1])
        }
        await cluster.shutdown()
    }

    @Test("when the leader stops the others elect a new one and keep committing; restarted, it catches up from its files")
    func failoverAndRestartCatchUp() async throws {
        let cluster = try await RaftTestCluster()
        defer { Task { await cluster.shutdown() } }
        for i in 0..<10 { _ = try await proposeOnLeader(cluster, Self.payload(i)) }
        let old = try await cluster.waitForLeader()
        let oldTerm = await old.driver!.term
        await cluster.stop(old)

        let new = try await cluster.waitForLeader()
        #expect(new.id != old.id)
        #expect(await new.driver!.term > oldTerm)
        for i in 10..<20 { _ = try await proposeOnLeader(cluster, Self.payload(i)) }
        let survivors = cluster.nodes.filter { $0.id != old.id }
        try await waitForApplied(survivors, count: 20)

        try await cluster.restart(old)
        try await waitForApplied(cluster.nodes, count: 20)
        let orders = await cluster.nodes.asyncMap { await $0.stateMachine.applied }
        #expect(orders.allSatisfy { $0 == orders[0] })
        #expect(orders[0].count == 20)
        await cluster.shutdown()
    }

    @Test("a node restarted after the others compacted their logs is caught up by an installed snapshot")
    func laggingNodeRestoresFromSnapshot() async throws {
        let cluster = try await RaftTestCluster(snapshotEntriesMax: 8)
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.waitForLeader()
        let lagging = cluster.nodes.first { $0.id != leader.id }!
        await cluster.stop(lagging)
        for i in 0..<30 { _ = try await proposeOnLeader(cluster, Self.payload(i)) }
        // The log was compacted past what the stopped node holds.
        #expect(await leader.driver!.firstIndex > RaftIndex(2))

        try await cluster.restart(lagging)
        try await waitForApplied([lagging], count: 30)
        #expect(await lagging.stateMachine.restores >= 1)
        #expect(await lagging.stateMachine.applied == leader.stateMachine.applied)
        await cluster.shutdown()
    }

    @Test("leadership transfer hands leadership to another voter, which then takes proposals")
    func transferMovesLeadership() async throws {
        let cluster = try await RaftTestCluster()
        defer { Task { await cluster.shutdown() } }
        _ = try await proposeOnLeader(cluster, [1])
        let old = try await cluster.waitForLeader()
        let target = cluster.nodes.first { $0.id != old.id }!
        var changes = old.driver!.leadershipChanges.makeAsyncIterator()
        try await old.driver!.transferLeadership(to: target.id)
        let new = try await cluster.waitForLeader()
        #expect(new.id == target.id)
        #expect(await !old.driver!.isLeader)
        _ = try await new.driver!.propose([2])
        // The old leader's stream reported becoming leader and then losing it.
        var seen: [RaftLeadership] = []
        while let change = await changes.next() {
            seen.append(change)
            if change.leader == target.id { break }
        }
        #expect(seen.contains { $0.isLocal && $0.leader == old.id })
        #expect(seen.last == RaftLeadership(leader: target.id, term: seen.last!.term, isLocal: false))
        await cluster.shutdown()
    }

    @Test("a proposal fails with leadershipLost when the leader loses its quorum before the entry commits")
    func proposalFailsWhenLeadershipIsLost() async throws {
        let cluster = try await RaftTestCluster()
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.waitForLeader()
        for node in cluster.nodes where node.id != leader.id { await cluster.stop(node) }
        // CheckQuorum: without acknowledgements for an election timeout the leader steps down.
        await #expect(throws: RaftProposalError.leadershipLost) {
            try await leader.driver!.propose([9])
        }
        #expect(await !leader.driver!.isLeader)
        await cluster.shutdown()
    }

    @Test("graceful shutdown of the leader hands leadership over instead of leaving the group to time out")
    func gracefulShutdownTransfersLeadership() async throws {
        // 50 ms ticks: an election after a silent leader takes at least 500 ms.
        let cluster = try await RaftTestCluster(tickInterval: .milliseconds(50))
        defer { Task { await cluster.shutdown() } }
        _ = try await proposeOnLeader(cluster, [1])
        let old = try await cluster.waitForLeader()
        try await cluster.stopGracefully(old)
        // Without a transfer the survivors would first wait out an election timeout (≥ 500 ms
        // after the last heartbeat); with one, the new leader is in place when the old stops.
        let new = try await cluster.waitForLeader(timeout: .milliseconds(300))
        #expect(new.id != old.id)
        _ = try await new.driver!.propose([2])
        await cluster.shutdown()
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
