import NIOCore
import Synchronization

/// Wakes the producer's sender loop: when records become ready, a response arrives, a flush
/// is asked for, or a deadline (linger, backoff) passes. A signal given while the loop is busy
/// is remembered, so none is lost; many signals before the next wait count as one.
final class WakeSignal: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        var timer: Scheduled<Void>?
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Wakes the waiting loop, or the next wait if none is waiting.
    func signal() {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Scheduled<Void>?) in
            guard let waiter = state.waiter else {
                state.signalled = true
                return (nil, nil)
            }
            state.waiter = nil
            defer { state.timer = nil }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }

    /// Returns at the next signal, or at `deadline` if that comes first (at once if a signal
    /// came since the last wait).
    func wait(until deadline: ContinuousClock.Instant?) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.signalled {
                    state.signalled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow {
                continuation.resume()
                return
            }
            guard let deadline else { return }
            let delay = ContinuousClock.now.duration(to: deadline)
            let nanoseconds = max(0, delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000)
            let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in self.signal() }
            let cancelAtOnce = state.withLock { state -> Bool in
                guard state.waiter != nil else { return true }
                state.timer = timer
                return false
            }
            if cancelAtOnce { timer.cancel() }
        }
    }
}
