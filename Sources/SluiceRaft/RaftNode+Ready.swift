import SluiceCore

extension RaftNode {
    /// Whether `ready()` has work. False while a `Ready` is outstanding.
    public var hasReady: Bool {
        guard !readyOutstanding else { return false }
        return hardState != lastReadyHardState || log.pendingSnapshot != nil
            || !log.unstableEntries.isEmpty || !outbox.isEmpty
            || !log.entriesToApply(maxCount: 1).isEmpty
    }

    /// Hand out the work accumulated since the last `Ready`; see `Ready` for the driver's
    /// obligations. Precondition: the previous `Ready` was advanced.
    public mutating func ready() -> Ready {
        precondition(!readyOutstanding, "advance the previous Ready first")
        let hs = hardState
        let r = Ready(
            hardState: hs == lastReadyHardState ? nil : hs,
            snapshot: log.pendingSnapshot,
            entries: log.unstableEntries,
            messages: outbox,
            committedEntries: log.entriesToApply(maxCount: options.committedEntriesPerReadyMax))
        outbox = []
        lastReadyHardState = hs
        readyOutstanding = true
        return r
    }

    /// The driver persisted, sent and applied everything in `ready`.
    public mutating func advance(_ ready: Ready) {
        precondition(readyOutstanding, "advance without an outstanding Ready")
        readyOutstanding = false
        if let s = ready.snapshot {
            log.snapshotPersisted(s.index)
            if log.appliedIndex < s.index, log.raftCommitIndex >= s.index, log.snapshotIndex >= s.index {
                log.applied(to: s.index)
            }
        }
        if let last = ready.entries.last { log.stable(to: last.index, term: last.term) }
        if let last = ready.committedEntries.last { log.applied(to: last.index) }
        if role == .leader, progress[id]?.selfPersisted(to: log.stableLastIndex) == true {
            if maybeCommit() { broadcastAppend() }
        }
        checkInvariants()
    }
}
