import Synchronization

/// Wakes long-polling fetches when data arrives. A fetch reads the `generation`, finds too
/// little data, and waits until the generation moves past it or its deadline passes; every
/// append (or high-watermark move) bumps the generation and resumes the waiters.
///
/// One signal per node is coarse (an append to any partition wakes every waiting fetch, which
/// then re-reads), and cheap: waiting fetches are bounded by connections, and a re-read of a
/// partition with nothing new costs a lookup.
///
/// Deadlines are kept here and swept every `sweepInterval` by one task, rather than a timer per
/// wait: under load every append wakes every parked fetch, and a fresh timer per wait spent a
/// fifth of the node's CPU in the timer heap (measured with `perf` by
/// `scripts/bench-replication.py --profile`). A wait may so last up to one interval longer than
/// asked, which long-polls (hundreds of milliseconds) do not notice.
final class AppendSignal: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>
        var deadline: ContinuousClock.Instant
    }
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
        var sweeping = false
    }
    private let state = Mutex(State())
    static let sweepInterval: Duration = .milliseconds(10)

    var generation: UInt64 { state.withLock { $0.generation } }

    func bump() {
        let waiters = state.withLock { state -> [Waiter] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns when the generation is past `seen`, or after `timeout`, or on cancellation.
    func wait(after seen: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let deadline = ContinuousClock.now + timeout
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (resumeNow, startSweeper) = state.withLock { state -> (Bool, Bool) in
                    if state.generation != seen || Task.isCancelled || timeout <= .zero { return (true, false) }
                    state.waiters[id] = Waiter(continuation: continuation, deadline: deadline)
                    defer { state.sweeping = true }
                    return (false, !state.sweeping)
                }
                if resumeNow { continuation.resume() }
                if startSweeper { Task { [weak self] in await self?.sweep() } }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    /// Resumes waiters whose deadline passed; runs while any wait, then stops (the next wait
    /// starts it again).
    private func sweep() async {
        while true {
            try? await Task.sleep(for: Self.sweepInterval)
            let now = ContinuousClock.now
            let (expired, more) = state.withLock { state -> ([Waiter], Bool) in
                let expired = state.waiters.filter { $0.value.deadline <= now }
                for id in expired.keys { state.waiters.removeValue(forKey: id) }
                if state.waiters.isEmpty { state.sweeping = false }
                return (Array(expired.values), !state.waiters.isEmpty)
            }
            for waiter in expired { waiter.continuation.resume() }
            if !more { return }
        }
    }
}
