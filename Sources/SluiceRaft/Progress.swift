import SluiceCore

/// The leader's view of one follower (or of itself): how much of the log it holds and how the
/// leader is currently sending to it.
struct Progress: Sendable {
    enum State: Sendable, Equatable {
        /// The leader does not know where the follower's log diverges: one append in flight
        /// at a time, each rejection moves `next` back (by whole terms, with the hint).
        case probe
        /// The follower is in step: appends are pipelined, up to `inflightAppendsMax`.
        case replicate
        /// A snapshot through `pendingIndex` is on its way; appends wait for its ack.
        case snapshot(pendingIndex: RaftIndex)
    }

    /// Highest index known to match the leader's log. Invariant: `match < next`.
    private(set) var match: RaftIndex = .zero
    /// Next index to send.
    private(set) var next: RaftIndex
    private(set) var state: State = .probe
    /// Probe state: an append is in flight, wait for its answer (or a heartbeat answer).
    private(set) var probeSent = false
    /// Replicate state: last index of each in-flight append, oldest first.
    /// Invariant: count ≤ the window, increasing.
    private(set) var inflight: [RaftIndex] = []
    /// Heard from since the last CheckQuorum round.
    var recentActive = false
    /// Ticks spent in the snapshot state, so a lost snapshot is retried.
    var snapshotTicks = 0
    let isLearner: Bool

    init(next: RaftIndex, isLearner: Bool) {
        self.next = next
        self.isLearner = isLearner
    }

    func isPaused(window: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflight.count >= window
        case .snapshot: true
        }
    }

    /// The follower holds the log up to `index`. Returns whether `match` moved.
    mutating func update(match index: RaftIndex) -> Bool {
        var moved = false
        if index > match {
            match = index
            probeSent = false
            moved = true
        }
        next = max(next, index.next)
        if case .replicate = state { inflight.removeAll { $0 <= index } }
        return moved
    }

    /// The leader's own persisted log reached `index`.
    mutating func selfPersisted(to index: RaftIndex) -> Bool {
        guard index > match else { return false }
        match = index
        next = index.next
        return true
    }

    /// The follower rejected the append whose prevIndex was `rejected`, when its log matched
    /// at most up to `hintIndex`; the leader's log says it may match at `probeIndex`. Returns
    /// false for stale rejections.
    mutating func rejected(at rejected: RaftIndex, hintIndex: RaftIndex, probeIndex: RaftIndex) -> Bool {
        switch state {
        case .replicate:
            // A fresh rejection always hints at or past `match` (the follower holds the
            // matched prefix durably, and its terms there are ≤ the leader's prevTerm). A hint
            // below it was sent before the follower acknowledged more: an append overtaken by
            // a later one. Without this, every reordered append restarts the pipeline.
            if rejected <= match || hintIndex < match { return false }
            becomeProbe()
        case .probe:
            if rejected != next.previous { return false }
        case .snapshot:
            return false
        }
        next = max(min(rejected, probeIndex.next), match.next)
        probeSent = false
        return true
    }

    mutating func sent(lastIndex: RaftIndex?, window: Int) {
        switch state {
        case .probe:
            probeSent = true
        case .replicate:
            guard let lastIndex else { return }
            precondition(inflight.count < window, "append window overflow")
            next = lastIndex.next
            inflight.append(lastIndex)
        case .snapshot:
            preconditionFailure("appends are not sent while a snapshot is in flight")
        }
    }

    /// A heartbeat answer proves the follower is reachable: let one more probe or append go.
    mutating func heartbeatAnswered() {
        probeSent = false
        if case .replicate = state, !inflight.isEmpty { inflight.removeFirst() }
    }

    mutating func becomeProbe() {
        if case .snapshot(let pending) = state {
            next = max(match.next, pending.next)
        } else {
            next = match.next
        }
        state = .probe
        probeSent = false
        inflight = []
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match.next
        inflight = []
    }

    mutating func becomeSnapshot(_ index: RaftIndex) {
        state = .snapshot(pendingIndex: index)
        inflight = []
        snapshotTicks = 0
    }

    /// A snapshot that was never acknowledged: forget it and probe from what is known.
    mutating func snapshotTimedOut() {
        state = .probe
        next = match.next
        probeSent = false
    }
}
