import Synchronization

/// A fair async mutex, for an actor's critical sections that span an `await`: an actor is
/// reentrant at every suspension point, so its own isolation does not keep a second caller out
/// while the first awaits storage or the Raft log. Waiters get the lock in arrival order.
final class AsyncFIFOLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Runs `body` holding the lock; the lock is released however `body` returns.
    func withLock<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async -> T) async -> T {
        await lock()
        defer { unlock() }
        return await body()
    }

    private func lock() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.held {
                    state.waiters.append(waiter)
                    return false
                }
                state.held = true
                return true
            }
            if acquired { waiter.resume() }
        }
    }

    /// Hands the lock to the next waiter (it stays held) or frees it.
    private func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            precondition(state.held, "unlock of a free lock")
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
