import SluiceCore

extension RaftNode {
    // MARK: leader side

    @discardableResult
    mutating func appendAsLeader(kind: RaftEntry.Kind, data: [UInt8]) -> RaftEntry {
        let entry = RaftEntry(term: term, index: log.lastIndex.next, kind: kind, data: data)
        log.appendAsLeader(entry)
        // The leader's own replica counts only once persisted (see `advance`), so a leader
        // that crashes before its fsync never counted itself toward a commit.
        broadcastAppend()
        return entry
    }

    mutating func broadcastAppend() {
        for member in configuration.members where member != id { sendAppends(to: member, allowEmpty: true) }
    }

    mutating func broadcastHeartbeat() {
        for member in configuration.members where member != id {
            guard let p = progress[member] else { continue }
            send(member, .heartbeat(leaderCommit: min(p.match, log.raftCommitIndex)))
        }
    }

    /// Send as many appends to `peer` as its state and window allow. `allowEmpty` sends one
    /// even with no new entries (to carry a new commit index or probe).
    mutating func sendAppends(to peer: NodeID, allowEmpty: Bool = false) {
        var allowEmpty = allowEmpty
        while sendAppend(to: peer, allowEmpty: allowEmpty) { allowEmpty = false }
    }

    /// Returns whether a message with entries went out (so another may follow).
    private mutating func sendAppend(to peer: NodeID, allowEmpty: Bool) -> Bool {
        guard var p = progress[peer], !p.isPaused(window: options.inflightAppendsMax) else { return false }
        defer { progress[peer] = p }
        let prevIndex = p.next.previous
        guard let prevTerm = log.term(at: prevIndex),
              let entries = log.entries(from: p.next, maxCount: options.entriesPerAppendMax)
        else {
            sendSnapshot(to: peer, progress: &p)
            return false
        }
        if entries.isEmpty && !allowEmpty { return false }
        send(peer, .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: log.raftCommitIndex))
        p.sent(lastIndex: entries.last?.index, window: options.inflightAppendsMax)
        return !entries.isEmpty
    }

    mutating func handleAppendAccepted(from peer: NodeID, match: RaftIndex) {
        guard var p = progress[peer] else { return }
        p.recentActive = true
        let moved = p.update(match: match)
        if moved {
            switch p.state {
            case .probe: p.becomeReplicate()
            case .snapshot(let pending) where p.match >= pending:
                p.becomeProbe()
                p.becomeReplicate()
            default: break
            }
        }
        progress[peer] = p
        if moved && maybeCommit() {
            broadcastAppend()
        } else {
            sendAppends(to: peer)
        }
        if peer == leadTransferee && p.match == log.lastIndex {
            send(peer, .timeoutNow)
        }
    }

    mutating func handleAppendRejected(from peer: NodeID, rejected: RaftIndex, hintIndex: RaftIndex, hintTerm: RaftTerm) {
        guard var p = progress[peer] else { return }
        p.recentActive = true
        // Where could the follower match? The last entry of ours at or before its hint whose
        // term is ≤ the hint's term: every entry of a term above that cannot match.
        let (probeIndex, _) = log.lastIndex(atOrBefore: hintIndex, withTermAtMost: hintTerm)
        let changed = p.rejected(at: rejected, hintIndex: hintIndex, probeIndex: probeIndex)
        progress[peer] = p
        if changed { sendAppends(to: peer, allowEmpty: true) }
    }

    mutating func handleHeartbeatResponse(from peer: NodeID) {
        guard var p = progress[peer] else { return }
        p.recentActive = true
        p.heartbeatAnswered()
        progress[peer] = p
        if p.match < log.lastIndex { sendAppends(to: peer, allowEmpty: true) }
    }

    /// Advance the commit index to the highest index a quorum of voters holds — but only if
    /// that entry is from the current term (paper §5.4.2): an older-term entry on a majority
    /// can still be overwritten (Figure 8).
    mutating func maybeCommit() -> Bool {
        let matches = configuration.voters.map { progress[$0]?.match ?? .zero }.sorted(by: >)
        let quorumIndex = matches[configuration.quorum - 1]
        guard quorumIndex > log.raftCommitIndex, log.term(at: quorumIndex) == term else { return false }
        log.commit(to: quorumIndex)
        return true
    }

    // MARK: follower side

    mutating func handleAppend(from leader: NodeID, prevIndex: RaftIndex, prevTerm: RaftTerm, entries: [RaftEntry], leaderCommit: RaftIndex) {
        if prevIndex < log.raftCommitIndex {
            // Everything up to our commit index already matches; say so and let the leader
            // continue from there.
            send(leader, .appendAccepted(matchIndex: log.raftCommitIndex))
            return
        }
        guard log.matches(index: prevIndex, term: prevTerm) else {
            let (hintIndex, hintTerm) = log.lastIndex(atOrBefore: prevIndex, withTermAtMost: prevTerm)
            send(leader, .appendRejected(rejectedIndex: prevIndex, hintIndex: hintIndex, hintTerm: hintTerm))
            return
        }
        log.merge(entries)
        let lastNew = RaftIndex(prevIndex.rawValue + UInt64(entries.count))
        log.commit(to: min(leaderCommit, lastNew))
        send(leader, .appendAccepted(matchIndex: lastNew))
    }
}
