import SluiceRaft
import Synchronization

/// The bounded outbox for one peer, shared by the driver (which enqueues, never waiting) and
/// the peer's sender task (which drains). When full, the oldest message goes: the newest ones
/// carry the latest term and commit index, and Raft recovers from any loss by retrying.
final class RaftPeerQueue: Sendable {
    private struct State {
        /// Invariant: count ≤ `capacity`.
        var messages: [RaftMessage] = []
        var dropped = 0
        /// Set at shutdown: queued messages are discarded and new ones refused.
        var finished = false
    }

    let capacity: Int
    private let state = Mutex(State())
    /// Wakes the sender; `bufferingNewest(1)` coalesces many enqueues into one wake-up.
    let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(capacity: Int) {
        precondition(capacity > 0, "a peer queue needs room for one message")
        self.capacity = capacity
        (wakeUps, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func enqueue(_ message: RaftMessage) {
        let accepted = state.withLock { s in
            if s.finished { return false }
            if s.messages.count == capacity {
                s.messages.removeFirst()
                s.dropped += 1
            }
            s.messages.append(message)
            return true
        }
        if accepted { wake.yield() }
    }

    /// Wakes the sender with nothing new queued (its connection ended, so it should look).
    func nudge() { wake.yield() }

    /// Everything queued, oldest first; the queue is empty afterwards.
    func drain() -> [RaftMessage] {
        state.withLock { s in
            defer { s.messages.removeAll(keepingCapacity: true) }
            return s.messages
        }
    }

    /// Puts unsent messages back in front (after a failed connect), still within the bound.
    func requeue(_ messages: [RaftMessage]) {
        guard !messages.isEmpty else { return }
        state.withLock { s in
            if s.finished { return }
            var merged = messages + s.messages
            let excess = merged.count - capacity
            if excess > 0 {
                merged.removeFirst(excess)
                s.dropped += excess
            }
            s.messages = merged
        }
    }

    var dropped: Int { state.withLock { $0.dropped } }
    var count: Int { state.withLock { $0.messages.count } }

    var isFinished: Bool { state.withLock { $0.finished } }

    func finish() {
        state.withLock { s in
            s.finished = true
            s.messages.removeAll()
        }
        wake.finish()
    }
}
