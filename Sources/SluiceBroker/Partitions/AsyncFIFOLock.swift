/// A fair async mutex for one actor's critical sections that span an `await` (an actor is
/// reentrant at every suspension point, so its own isolation is not enough there).
/// Used by one actor only, so its state needs no lock of its own.
struct AsyncFIFOLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// True if the caller got the lock now; otherwise it must `await` the returned waiter.
    mutating func tryLock() -> Bool {
        if held { return false }
        held = true
        return true
    }

    mutating func enqueue(_ waiter: CheckedContinuation<Void, Never>) { waiters.append(waiter) }

    /// Hands the lock to the next waiter (it stays held) or frees it.
    mutating func unlock() -> CheckedContinuation<Void, Never>? {
        precondition(held, "unlock of a free lock")
        if waiters.isEmpty {
            held = false
            return nil
        }
        return waiters.removeFirst()
    }
}
