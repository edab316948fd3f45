@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceWire
import Synchronization
import Testing

@Suite struct GroupCoordinatorServiceTests {
    typealias H = GroupServiceHarness

    @Test func aCommitIsAnsweredAfterItsEntryCommitsAndIsInTheImage() async throws {
        try await H.with { h in
            let result = await h.service.commitOffsets(H.commit("g", "t", 0, 42))
            #expect(result == .success(OffsetCommitOutcome(errorCodes: [.none])))
            #expect(h.view.current.image.groups["g"]?.offsets[TopicPartition(TopicName(rawValue: "t")!, 0)]?.offset == 42)
            let fetched = await h.service.committedOffsets("g")
            #expect((try? fetched.get())?.count == 1)
        }
    }

    @Test func outputsQueuedDuringAProposalGoOutTogetherInOrder() async throws {
        try await H.with { h in
            await h.log.hold()
            let answered = AnswerLog()
            try await withThrowingTaskGroup(of: Void.self) { group throws in
                group.addTask {
                    _ = await h.service.commitOffsets(H.commit("g", "t", 0, 1))
                    answered.add(1)
                }
                #expect(await h.eventually { await h.log.heldCount == 1 })
                for (i, offset) in [(2, Int64(2)), (3, Int64(3))] {
                    group.addTask {
                        _ = await h.service.commitOffsets(H.commit("g", "t", 0, offset))
                        answered.add(i)
                    }
                }
                #expect(await h.eventually { await h.service.queue.count == 2 })
                // Nothing is answered while its entry (or an earlier one) has not committed.
                #expect(answered.all.isEmpty)
                await h.log.release()
                try await group.waitForAll()
            }
            let entries = try await h.log.entries()
            let offsets = entries.map { $0.compactMap { record -> Int64? in
                if case .offsetCommit(let c) = record { return c.offset.rawValue }
                return nil
            } }
            // One entry for the first commit, one for the two that queued behind it.
            #expect(offsets == [[1], [2, 3]])
            #expect(answered.all.count == 3)
            #expect(h.view.current.image.groups["g"]?.offsets.values.first?.offset == 3)
        }
    }

    @Test func aFailedProposalDropsTheCoreAndAnswersNotCoordinator() async throws {
        try await H.with { h in
            await h.log.failNext()
            let result = await h.service.commitOffsets(H.commit("g", "t", 0, 7))
            #expect(result == .failure(.notCoordinator))
            #expect(await h.service.isActive == false)
            // Still the controller: until it is re-activated, requests hear "loading".
            #expect(await h.service.commitOffsets(H.commit("g", "t", 0, 8)) == .failure(.loading))
            await h.service.activate()
            #expect(await h.service.commitOffsets(H.commit("g", "t", 0, 9)) == .success(OffsetCommitOutcome(errorCodes: [.none])))
        }
    }

    @Test func deactivationAnswersParkedJoinsNotCoordinator() async throws {
        var options = GroupOptions()
        options.initialRebalanceDelayMs = 60_000  // the join phase stays open
        try await H.with(options: options) { h in
            let join = Task { await h.service.joinGroup(H.join("g")) }
            #expect(await h.eventually { await h.service.waiting.count == 1 })
            await h.service.deactivate()
            #expect(await join.value == .failure(.notCoordinator))
            #expect(await h.service.waiting.isEmpty)
            h.view.publish(controllerID: 2)
            #expect(await h.service.joinGroup(H.join("g")) == .failure(.notCoordinator))
        }
    }

    @Test func shutdownAnswersParkedJoinsAndRefusesNewOnes() async throws {
        var options = GroupOptions()
        options.initialRebalanceDelayMs = 60_000
        let view = MetadataView()
        view.publish(controllerID: 1)
        let log = FakeMetadataLog(view: view)
        let service = GroupCoordinatorService(nodeID: 1, log: log, view: view, options: options, logger: .init(label: "t"),
                                              nowMs: { 0 }, wallMs: { 0 })
        await service.activate()
        let run = Task { try await service.run() }
        let join = Task { await service.joinGroup(H.join("g")) }
        for _ in 0..<500 where await service.waiting.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        run.cancel()  // outside a ServiceGroup, cancellation stands in for graceful shutdown
        _ = try? await run.value
        #expect(await join.value == .failure(.notCoordinator))
        #expect(await service.joinGroup(H.join("g")) == .failure(.notCoordinator))
        await service.activate()
        #expect(await service.isActive == false)
    }

    @Test func aJoinPhaseCompletesOnTheTimerAndIsWrittenBeforeTheAnswer() async throws {
        var options = GroupOptions()
        options.initialRebalanceDelayMs = 100
        try await H.with(options: options) { h in
            let join = Task { await h.service.joinGroup(H.join("g")) }
            #expect(await h.eventually { await h.service.waiting.count == 1 })
            h.clock.advance(1_000)
            let outcome = try await join.value.get()
            #expect(outcome.errorCode == .none)
            #expect(outcome.generationID == GenerationID(1))
            #expect(outcome.leaderID == outcome.memberID && outcome.members.count == 1)
            // The generation is in the image before the member heard of it.
            #expect(h.view.current.image.groups["g"]?.state.generation == GenerationID(1))
        }
    }

    @Test func entriesKeepEachOutputTogetherAndStayWithinBounds() {
        func commit(_ i: Int64) -> MetadataRecord {
            .offsetCommit(OffsetCommitRecord(groupID: "g", topic: TopicName(rawValue: "t")!, partition: 0, offset: Offset(i),
                                             leaderEpoch: .unknown, metadata: String(repeating: "m", count: 100), commitWallMs: 0))
        }
        let outputs = [[commit(1), commit(2)], [], [commit(3), commit(4)], [commit(5)]]
        let size = GroupCoordinatorService.encodedBytes(commit(1)) + 4
        let entries = GroupCoordinatorService.entries(outputs, bytesMax: 5 + 3 * size)
        let decoded = entries.map { (try? MetadataRecordBatch.decode($0).records.count) ?? -1 }
        #expect(decoded == [2, 3])  // [1, 2] | [3, 4, 5]: the second output does not fit beside the first
        #expect(entries.allSatisfy { $0.count <= 5 + 3 * size })
        let byCount = GroupCoordinatorService.entries(outputs, recordsMax: 1)
        #expect(byCount.count == 5)
        #expect(GroupCoordinatorService.entries([[], []]).isEmpty)
    }
}

/// Which requests have been answered, from concurrent tasks.
final class AnswerLog: Sendable {
    private let values = Mutex<[Int]>([])
    func add(_ value: Int) { values.withLock { $0.append(value) } }
    var all: [Int] { values.withLock { $0 } }
}
