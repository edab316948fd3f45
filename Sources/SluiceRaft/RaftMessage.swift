import SluiceCore

/// A message between two members of the Raft group. The transport frames it; Raft only needs
/// it delivered at most once-ish: loss, duplication and reordering are all tolerated.
public struct RaftMessage: Sendable, Equatable, CustomStringConvertible {
    public enum Body: Sendable, Equatable {
        /// "Would you vote for me at `term`?" sent without changing the sender's term, so a
        /// node that cannot win (partitioned, stale log) never disrupts the group (thesis §9.6).
        case preVote(lastIndex: RaftIndex, lastTerm: RaftTerm)
        /// `term` is the proposed term when granted, the responder's own term when refused.
        case preVoteResponse(granted: Bool)
        /// `leadershipTransfer` marks a campaign the old leader asked for (TimeoutNow); it
        /// overrides the followers' leader lease.
        case vote(lastIndex: RaftIndex, lastTerm: RaftTerm, leadershipTransfer: Bool)
        case voteResponse(granted: Bool)
        case append(prevIndex: RaftIndex, prevTerm: RaftTerm, entries: [RaftEntry], leaderCommit: RaftIndex)
        /// The follower's log matches the leader's up to `matchIndex`.
        case appendAccepted(matchIndex: RaftIndex)
        /// The append at `rejectedIndex` (its prevIndex) did not match. The follower's last
        /// entry at or before it with a term ≤ the leader's prevTerm is (`hintIndex`,
        /// `hintTerm`), which lets the leader skip a whole conflicting term per round trip.
        case appendRejected(rejectedIndex: RaftIndex, hintIndex: RaftIndex, hintTerm: RaftTerm)
        /// `leaderCommit` is min(follower's match, leader's commit), so it never points past
        /// what the follower is known to hold.
        case heartbeat(leaderCommit: RaftIndex)
        case heartbeatResponse
        case installSnapshot(RaftSnapshot)
        /// "Campaign now": the last step of a leadership transfer.
        case timeoutNow
    }

    public var from: NodeID
    public var to: NodeID
    public var term: RaftTerm
    public var body: Body

    public init(from: NodeID, to: NodeID, term: RaftTerm, body: Body) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }

    public var description: String {
        let what: String
        switch body {
        case .preVote(let i, let t): what = "PreVote(last \(i)@\(t))"
        case .preVoteResponse(let g): what = "PreVoteResp(\(g ? "yes" : "no"))"
        case .vote(let i, let t, let x): what = "Vote(last \(i)@\(t)\(x ? ", transfer" : ""))"
        case .voteResponse(let g): what = "VoteResp(\(g ? "yes" : "no"))"
        case .append(let pi, let pt, let es, let c):
            what = "Append(prev \(pi)@\(pt), \(es.isEmpty ? "-" : "\(es.first!.index)…\(es.last!.index)"), commit \(c))"
        case .appendAccepted(let m): what = "AppendOK(match \(m))"
        case .appendRejected(let r, let hi, let ht): what = "AppendNo(at \(r), hint \(hi)@\(ht))"
        case .heartbeat(let c): what = "Heartbeat(commit \(c))"
        case .heartbeatResponse: what = "HeartbeatResp"
        case .installSnapshot(let s): what = "InstallSnapshot(\(s))"
        case .timeoutNow: what = "TimeoutNow"
        }
        return "\(from)→\(to) t\(term) \(what)"
    }
}
