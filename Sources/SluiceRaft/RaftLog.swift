import SluiceCore

/// A node's view of the Raft log: a snapshot base, the entries after it, how far they are
/// persisted, committed and applied. Held in memory in full (the metadata log is bounded by
/// snapshots); the driver mirrors it on disk from `Ready`.
struct RaftLog: Sendable {
    /// The last index covered by the snapshot (0 when none). Invariant: ≤ `raftCommitIndex`.
    private(set) var snapshotIndex: RaftIndex
    /// Term of the entry at `snapshotIndex` (0 when none).
    private(set) var snapshotTerm: RaftTerm
    /// The newest snapshot this node has (to send to lagging followers).
    private(set) var snapshot: RaftSnapshot?
    /// A snapshot received from the leader and not yet persisted. Invariant: when set, its
    /// index is `snapshotIndex`.
    private(set) var pendingSnapshot: RaftSnapshot?
    /// Invariant: `entries[k].index == snapshotIndex + 1 + k`, terms never decrease.
    private(set) var entries: [RaftEntry]
    /// The first index not yet known to be persisted. Invariant:
    /// `snapshotIndex < unstableOffset ≤ lastIndex + 1`.
    private(set) var unstableOffset: RaftIndex
    /// Highest index known committed. Invariant: `snapshotIndex ≤ raftCommitIndex ≤ lastIndex`.
    private(set) var raftCommitIndex: RaftIndex
    /// Highest index handed to the application. Invariant: ≤ `raftCommitIndex`.
    private(set) var appliedIndex: RaftIndex

    init(restoring state: RaftPersistentState, applied: RaftIndex?) {
        snapshot = state.snapshot
        pendingSnapshot = nil
        snapshotIndex = state.snapshot?.index ?? .zero
        snapshotTerm = state.snapshot?.term ?? .zero
        entries = state.entries
        for (k, e) in entries.enumerated() {
            precondition(e.index.rawValue == snapshotIndex.rawValue + 1 + UInt64(k),
                         "persisted entries must follow the snapshot contiguously")
        }
        unstableOffset = RaftIndex((entries.last?.index ?? snapshotIndex).rawValue + 1)
        raftCommitIndex = max(state.hardState.raftCommitIndex, snapshotIndex)
        appliedIndex = applied ?? snapshotIndex
        precondition(raftCommitIndex <= lastIndex, "persisted commit index beyond the log")
        precondition(appliedIndex >= snapshotIndex && appliedIndex <= raftCommitIndex,
                     "applied index must lie between the snapshot and the commit index")
    }

    var firstIndex: RaftIndex { snapshotIndex.next }
    var lastIndex: RaftIndex { entries.last?.index ?? snapshotIndex }
    var lastTerm: RaftTerm { entries.last?.term ?? snapshotTerm }
    /// The last index known to be on disk (leaders count it as their own replica).
    var stableLastIndex: RaftIndex { pendingSnapshot == nil ? unstableOffset.previous : .zero }

    /// The term of the entry at `index`, or nil when it is compacted or beyond the log.
    func term(at index: RaftIndex) -> RaftTerm? {
        if index == snapshotIndex { return snapshotTerm }
        if index < snapshotIndex || index > lastIndex { return nil }
        return entries[offset(index)].term
    }

    func matches(index: RaftIndex, term: RaftTerm) -> Bool { self.term(at: index) == term }

    /// Whether a candidate whose log ends at (lastIndex, lastTerm) is at least as up to date
    /// as this log (paper §5.4.1).
    func isUpToDate(lastIndex: RaftIndex, lastTerm: RaftTerm) -> Bool {
        lastTerm > self.lastTerm || (lastTerm == self.lastTerm && lastIndex >= self.lastIndex)
    }

    /// Entries from `index` on, at most `maxCount`; nil when `index` is compacted.
    func entries(from index: RaftIndex, maxCount: Int) -> [RaftEntry]? {
        if index <= snapshotIndex { return nil }
        if index > lastIndex { return [] }
        let start = offset(index)
        return Array(entries[start..<min(entries.count, start + maxCount)])
    }

    func entry(at index: RaftIndex) -> RaftEntry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[offset(index)]
    }

    /// The largest index ≤ `index` whose term is ≤ `term` (the snapshot base when the search
    /// runs into it). Used on both sides of a rejected append to skip conflicting terms.
    func lastIndex(atOrBefore index: RaftIndex, withTermAtMost term: RaftTerm) -> (RaftIndex, RaftTerm) {
        var i = min(index, lastIndex)
        while i > snapshotIndex {
            let t = entries[offset(i)].term
            if t <= term { return (i, t) }
            i = i.previous
        }
        return (snapshotIndex, snapshotTerm)
    }

    var unstableEntries: [RaftEntry] {
        unstableOffset > lastIndex ? [] : Array(entries[offset(unstableOffset)...])
    }

    /// Committed entries the application has not been handed yet, at most `maxCount`.
    func entriesToApply(maxCount: Int) -> [RaftEntry] {
        let from = max(appliedIndex, pendingSnapshot?.index ?? .zero).next
        guard from <= raftCommitIndex else { return [] }
        let start = offset(from)
        let end = min(offset(raftCommitIndex) + 1, start + maxCount)
        return Array(entries[start..<end])
    }

    // MARK: mutation

    /// The leader appends its own new entry.
    mutating func appendAsLeader(_ entry: RaftEntry) {
        precondition(entry.index == lastIndex.next && entry.term >= lastTerm, "leader append out of order")
        entries.append(entry)
    }

    /// A follower merges entries that follow a matching (prevIndex, prevTerm): entries it
    /// already holds are kept, the first conflicting one and everything after it is replaced.
    mutating func merge(_ incoming: [RaftEntry]) {
        for (k, e) in incoming.enumerated() {
            // At or before the snapshot: committed, hence identical (Log Matching).
            if e.index <= snapshotIndex { continue }
            if e.index > lastIndex {
                append(Array(incoming[k...]))
                return
            }
            if entries[offset(e.index)].term != e.term {
                precondition(e.index > raftCommitIndex, "a committed entry conflicts with the leader")
                entries.removeSubrange(offset(e.index)...)
                unstableOffset = min(unstableOffset, e.index)
                append(Array(incoming[k...]))
                return
            }
        }
    }

    private mutating func append(_ tail: [RaftEntry]) {
        for e in tail {
            precondition(e.index == lastIndex.next, "entries must be contiguous")
            entries.append(e)
        }
    }

    mutating func commit(to index: RaftIndex) {
        guard index > raftCommitIndex else { return }
        precondition(index <= lastIndex, "commit index \(index) beyond last index \(lastIndex)")
        raftCommitIndex = index
    }

    /// Entries up to (index, term) are on disk, unless the log changed under them since.
    mutating func stable(to index: RaftIndex, term: RaftTerm) {
        guard self.term(at: index) == term, index >= unstableOffset else { return }
        unstableOffset = index.next
    }

    mutating func snapshotPersisted(_ index: RaftIndex) {
        if pendingSnapshot?.index == index { pendingSnapshot = nil }
    }

    mutating func applied(to index: RaftIndex) {
        precondition(index <= raftCommitIndex, "applied beyond the commit index")
        appliedIndex = max(appliedIndex, index)
    }

    /// Replace the whole log with a snapshot received from the leader.
    mutating func restore(_ s: RaftSnapshot) {
        precondition(s.index > raftCommitIndex, "restoring an older snapshot")
        snapshot = s
        pendingSnapshot = s
        snapshotIndex = s.index
        snapshotTerm = s.term
        entries = []
        unstableOffset = s.index.next
        raftCommitIndex = s.index
    }

    /// Drop entries through `s.index`, which the application has applied and snapshotted.
    mutating func compact(to s: RaftSnapshot) {
        precondition(s.index > snapshotIndex && s.index <= appliedIndex, "compacting unapplied entries")
        precondition(s.index < unstableOffset, "compacting entries that are not persisted")
        entries.removeSubrange(0..<(offset(s.index) + 1))
        snapshotIndex = s.index
        snapshotTerm = s.term
        snapshot = s
    }

    private func offset(_ index: RaftIndex) -> Int {
        Int(index.rawValue - snapshotIndex.rawValue - 1)
    }
}
