import SluiceCore

extension RaftNode {
    /// The application snapshotted its state through `index` (≤ `appliedIndex`): drop the log
    /// up to there. Returns the snapshot for the driver to persist (atomically, before it
    /// deletes any persisted entry); nil when `index` is not past the current snapshot.
    public mutating func compact(through index: RaftIndex, snapshotData: [UInt8]) -> RaftSnapshot? {
        guard index > log.snapshotIndex else { return nil }
        precondition(index <= log.appliedIndex, "snapshot of entries the application has not applied")
        guard let t = log.term(at: index) else { preconditionFailure("applied entry missing from the log") }
        let s = RaftSnapshot(index: index, term: t, configuration: configuration, data: snapshotData)
        log.compact(to: s)
        return s
    }

    mutating func sendSnapshot(to peer: NodeID, progress p: inout Progress) {
        guard let s = log.snapshot else {
            preconditionFailure("entries before the first index are gone but there is no snapshot")
        }
        p.becomeSnapshot(s.index)
        send(peer, .installSnapshot(s))
    }

    mutating func tickSnapshotRetries() {
        for member in configuration.members where member != id {
            guard var p = progress[member], case .snapshot = p.state else { continue }
            p.snapshotTicks += 1
            // An unanswered snapshot was probably lost: probe again, which resends it.
            if p.snapshotTicks >= options.electionTicks { p.snapshotTimedOut() }
            progress[member] = p
        }
    }

    mutating func handleSnapshot(from leader: NodeID, _ s: RaftSnapshot) {
        if s.index <= log.raftCommitIndex {
            send(leader, .appendAccepted(matchIndex: log.raftCommitIndex))
            return
        }
        if log.matches(index: s.index, term: s.term) {
            // We already hold the snapshot's entries: just learn that they are committed.
            log.commit(to: s.index)
            send(leader, .appendAccepted(matchIndex: s.index))
            return
        }
        log.restore(s)
        send(leader, .appendAccepted(matchIndex: s.index))
    }
}
