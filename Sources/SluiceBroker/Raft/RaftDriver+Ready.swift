import Logging
import SluiceCore
import SluiceRaft

extension RaftDriver {
    /// Carries out Readies one at a time, for as long as the node has one, whenever woken.
    func readyLoop() async throws {
        for await _ in readyWakeUps {
            while state == .running, node.hasReady {
                try await handleReady()
            }
        }
    }

    /// One `Ready`, in the contract's order (`Ready`'s documentation). Events may step the node
    /// during the awaits; the core allows that between `ready()` and `advance`.
    private func handleReady() async throws {
        let ready = node.ready()
        // 1. Persist and fsync. A vote or an append acknowledgement in `messages` promises
        //    that this is durable, so nothing is sent before `sync` returns.
        if ready.snapshot != nil || !ready.entries.isEmpty || ready.hardState != nil {
            do {
                try store.write(ready)
                try store.sync()
            } catch {
                // Without durable storage the node can keep none of its promises: stop.
                logger.critical("raft log store failed; stopping the driver", metadata: ["error": "\(error)"])
                stop(reason: .stopped)
                throw error
            }
        }
        // 2. Send.
        if !ready.messages.isEmpty { sink.send(ready.messages) }
        // 3. Apply.
        if let snapshot = ready.snapshot {
            await stateMachine.restore(snapshot)
        }
        let applicable = ready.committedEntries.filter { $0.kind == .normal }
        if !applicable.isEmpty {
            await stateMachine.apply(applicable)
        }
        guard state == .running else { return }
        completeWaiters(ready.committedEntries)
        // 4. Advance.
        node.advance(ready)
        afterEvent()
        try await compactIfLarge()
    }

    /// A waiter succeeds when its index is applied with the term it was proposed in; a
    /// different term there means a new leader replaced the entry.
    private func completeWaiters(_ committed: [RaftEntry]) {
        guard !waiters.isEmpty else { return }
        for entry in committed {
            guard let waiter = waiters.removeValue(forKey: entry.index) else { continue }
            waiter.continuation.resume(returning: entry.term == waiter.term ? .success(entry.index) : .failure(.leadershipLost))
        }
    }

    /// Bounds the log: once more than `snapshotEntriesMax` applied entries are held, take the
    /// state machine's snapshot and drop the entries it covers, in memory and on disk.
    private func compactIfLarge() async throws {
        // Applied entries held = applied - first + 1 (none while applied < first).
        guard node.appliedIndex >= node.firstIndex,
              node.appliedIndex.rawValue - node.firstIndex.rawValue >= UInt64(configuration.snapshotEntriesMax)
        else { return }
        let (index, data) = await stateMachine.snapshot()
        guard state == .running else { return }
        precondition(index <= node.appliedIndex, "state machine snapshot at \(index) beyond applied \(node.appliedIndex)")
        guard let snapshot = node.compact(through: index, snapshotData: data) else { return }
        do {
            try store.compact(to: snapshot)
        } catch {
            logger.critical("raft log compaction failed; stopping the driver", metadata: ["error": "\(error)"])
            stop(reason: .stopped)
            throw error
        }
        logger.debug("compacted the raft log", metadata: ["through": "\(snapshot.index)", "bytes": "\(data.count)"])
    }
}
