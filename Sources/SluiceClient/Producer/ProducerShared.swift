import SluiceCore
import Synchronization

/// What the ``Producer`` (its callers' threads) and its ``ProducerSender`` (an actor) share
/// without an actor hop per record: the accumulator (with the partition counts records are
/// partitioned by) under a lock, and the sender's wake-up signal.
final class ProducerShared: Sendable {
    let accumulator: Mutex<RecordAccumulator>
    let wake: WakeSignal

    init(accumulator: RecordAccumulator, wake: WakeSignal) {
        self.accumulator = Mutex(accumulator)
        self.wake = wake
    }

    /// Returns `bytes` of buffer memory and resumes the callers waiting for it.
    func release(_ bytes: Int) {
        let resumed = accumulator.withLock { $0.release(bytes) }
        for waiter in resumed { waiter.resume() }
    }
}
