import SluiceCore
import SluiceRaft

/// Raft's safety properties (paper Figure 3), checked against a global history as the
/// simulation runs. Each check is incremental so that it can run after every step.
struct SafetyChecker {
    /// Election Safety: the one leader seen in each term.
    private var leaderOfTerm: [RaftTerm: NodeID] = [:]
    /// Log Matching: for every (index, term) ever persisted, the entry and its predecessor's
    /// term. Same (index, term) ⇒ same entry and, inductively, the same prefix.
    private var persisted: [RaftIndex: [RaftTerm: (entry: RaftEntry, prevTerm: RaftTerm)]] = [:]
    /// State Machine Safety: the one entry applied at each index (position k holds index k+1)
    /// and the digest after it (position k holds the digest after index k).
    private(set) var history: [RaftEntry] = []
    private var digests: [UInt64] = [ReplicatedStateMachine().digest]
    /// The last term each node was checked as leader in (Leader Completeness is checked once
    /// per node and term).
    private var checkedLeaderTerm: [NodeID: RaftTerm] = [:]

    private(set) var violation: String?

    private mutating func fail(_ s: String) { if violation == nil { violation = s } }

    mutating func observeRole(of node: RaftNode) {
        guard node.role == .leader else { return }
        if let other = leaderOfTerm[node.term], other != node.id {
            fail("Election Safety: nodes \(other) and \(node.id) are both leader in term \(node.term)")
            return
        }
        leaderOfTerm[node.term] = node.id
        if checkedLeaderTerm[node.id] != node.term {
            checkedLeaderTerm[node.id] = node.term
            checkLeaderCompleteness(node)
        }
    }

    /// Every entry some node applied must be in a new leader's log.
    private mutating func checkLeaderCompleteness(_ node: RaftNode) {
        guard node.lastIndex.rawValue >= UInt64(history.count) else {
            fail("Leader Completeness: leader \(node.id) of term \(node.term) ends at \(node.lastIndex) but \(history.count) entries are committed")
            return
        }
        let from = Int(node.firstIndex.rawValue)
        guard from <= history.count else { return }
        for i in from...history.count {
            let want = history[i - 1]
            if node.term(at: RaftIndex(UInt64(i))) != want.term {
                fail("Leader Completeness: leader \(node.id) of term \(node.term) lacks committed entry \(want)")
                return
            }
        }
    }

    /// A node persisted `entries`; `prevTerm` is the term before the first of them.
    mutating func observePersisted(_ entries: [RaftEntry], prevTerm first: RaftTerm, node: NodeID) {
        var prevTerm = first
        for e in entries {
            if let seen = persisted[e.index]?[e.term] {
                if seen.entry != e || seen.prevTerm != prevTerm {
                    fail("Log Matching: node \(node) persisted \(e) (prev term \(prevTerm)) but another log has \(seen.entry) (prev term \(seen.prevTerm))")
                    return
                }
            } else {
                persisted[e.index, default: [:]][e.term] = (e, prevTerm)
            }
            prevTerm = e.term
        }
    }

    /// A node applied `e` on top of its state machine.
    mutating func observeApplied(_ e: RaftEntry, node: NodeID, digestAfter: UInt64) {
        let i = Int(e.index.rawValue)
        if i <= history.count {
            if history[i - 1] != e {
                fail("State Machine Safety: node \(node) applied \(e) at \(i) but \(history[i - 1]) was applied there before")
                return
            }
        } else if i == history.count + 1 {
            history.append(e)
            digests.append(digestAfter)
        } else {
            fail("State Machine Safety: node \(node) applied \(e) with a gap after \(history.count)")
            return
        }
        if digests[i] != digestAfter {
            fail("State Machine Safety: node \(node)'s state after \(i) differs from the history")
        }
    }

    /// A node restored a state machine snapshot at `index` with `digest`.
    mutating func observeRestored(index: RaftIndex, digest: UInt64, node: NodeID) {
        let i = Int(index.rawValue)
        guard i < digests.count else {
            fail("State Machine Safety: node \(node) restored a snapshot at \(i), beyond anything applied (\(history.count))")
            return
        }
        if digests[i] != digest { fail("State Machine Safety: node \(node)'s snapshot at \(i) differs from the history") }
    }

    /// The index of the last applied entry, if it matches (index, term).
    func isApplied(index: RaftIndex, term: RaftTerm) -> Bool {
        let i = Int(index.rawValue)
        return i <= history.count && history[i - 1].term == term
    }

    mutating func reportLiveness(_ s: String) { fail(s) }
    mutating func reportDurability(_ s: String) { fail(s) }
}
