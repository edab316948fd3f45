import SluiceCore
import SluiceRaft

/// A node's disk: what was fsynced survives a crash; what was only written may survive in
/// part (a prefix of records, as a write-ahead log with checksums recovers a torn tail).
struct SimulatedDisk: RaftLogStore {
    enum Record {
        case snapshot(RaftSnapshot)
        case entry(RaftEntry)
        case hardState(HardState)
    }

    /// Durable state. Invariant: `entries` contiguous after `snapshot?.index ?? 0`.
    private(set) var hardState = HardState.initial
    private(set) var snapshot: RaftSnapshot?
    private(set) var entries: [RaftEntry] = []
    /// Written, not yet fsynced, oldest first.
    private(set) var unsynced: [Record] = []

    var recoveredState: RaftPersistentState { persistentState }

    var persistentState: RaftPersistentState {
        RaftPersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    var lastIndex: RaftIndex { entries.last?.index ?? snapshot?.index ?? .zero }

    func term(at index: RaftIndex) -> RaftTerm? {
        if let s = snapshot, index == s.index { return s.term }
        if index == .zero { return .zero }
        let base = snapshot?.index ?? .zero
        guard index > base, index <= lastIndex else { return nil }
        return entries[Int(index.rawValue - base.rawValue - 1)].term
    }

    /// Write a Ready's state in the order a WAL would: snapshot, entries, hard state last.
    mutating func write(_ ready: Ready) {
        if let s = ready.snapshot { unsynced.append(.snapshot(s)) }
        for e in ready.entries { unsynced.append(.entry(e)) }
        if let hs = ready.hardState { unsynced.append(.hardState(hs)) }
    }

    mutating func sync() {
        for r in unsynced { apply(r) }
        unsynced = []
    }

    /// Crash: keep the first `kept` unsynced records, lose the rest.
    mutating func crash(keeping kept: Int) {
        for r in unsynced.prefix(kept) { apply(r) }
        unsynced = []
    }

    /// A local compaction, written atomically (snapshot file, fsync, rename) before the
    /// entries it covers are deleted.
    mutating func compact(to s: RaftSnapshot) {
        precondition(s.index <= lastIndex, "compacting beyond the durable log")
        let base = snapshot?.index ?? .zero
        entries.removeFirst(Int(s.index.rawValue - base.rawValue))
        snapshot = s
    }

    /// Erase everything but the hard state's vote and term: the `forgetVoteOnRestart` bug.
    mutating func forgetVote() { hardState.vote = nil }

    private mutating func apply(_ r: Record) {
        switch r {
        case .snapshot(let s):
            snapshot = s
            entries = []
        case .entry(let e):
            let base = snapshot?.index ?? .zero
            precondition(e.index > base && e.index <= lastIndex.next, "disk entries must stay contiguous")
            entries.removeSubrange(Int(e.index.rawValue - base.rawValue - 1)...)
            entries.append(e)
        case .hardState(let hs):
            hardState = hs
        }
    }
}
