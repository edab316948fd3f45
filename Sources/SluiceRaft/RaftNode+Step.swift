import SluiceCore

extension RaftNode {
    /// Handle a message from another member. Messages from non-members, to someone else, or
    /// from stale terms are dropped or answered so the sender catches up.
    public mutating func step(_ m: RaftMessage) {
        guard m.to == id, m.from != id, configuration.contains(m.from) else { return }
        guard acceptTerm(of: m) else { return }
        switch role {
        case .leader: stepLeader(m)
        case .candidate, .preCandidate: stepCandidate(m)
        case .follower: stepFollower(m)
        }
        checkInvariants()
    }

    /// Apply the term rules shared by every role. Returns whether the message is still to be
    /// handled at the (possibly new) current term.
    private mutating func acceptTerm(of m: RaftMessage) -> Bool {
        if m.term > term {
            switch m.body {
            case .preVote, .vote:
                let transfer: Bool
                if case .vote(_, _, let t) = m.body { transfer = t } else { transfer = false }
                // Leader lease: a live leader exists, so this campaign can only disrupt it.
                if inLeaderLease && !transfer { return false }
                // A pre-vote never moves our term; a real vote does.
                if case .vote = m.body { becomeFollower(term: m.term, leader: nil) }
            case .preVoteResponse(granted: true):
                // Carries the term we asked about, not a newer term anyone is in.
                break
            case .append, .heartbeat, .installSnapshot:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: nil)
            }
            return true
        }
        if m.term < term {
            switch m.body {
            case .append, .heartbeat:
                // A leader from an older term (e.g. back from a partition) learns it is stale
                // from our answer and steps down; without this, a node whose term ran ahead
                // could be ignored forever by a leader that never hears a higher term.
                if options.checkQuorum || options.preVote { send(m.from, .heartbeatResponse) }
            case .preVote:
                send(m.from, .preVoteResponse(granted: false))
            default:
                break
            }
            return false
        }
        return true
    }

    private mutating func stepLeader(_ m: RaftMessage) {
        switch m.body {
        case .appendAccepted(let match):
            handleAppendAccepted(from: m.from, match: match)
        case .appendRejected(let rejected, let hintIndex, let hintTerm):
            handleAppendRejected(from: m.from, rejected: rejected, hintIndex: hintIndex, hintTerm: hintTerm)
        case .heartbeatResponse:
            handleHeartbeatResponse(from: m.from)
        case .preVote(let li, let lt):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: true)
        case .vote(let li, let lt, _):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: false)
        case .append, .heartbeat, .installSnapshot, .timeoutNow, .voteResponse, .preVoteResponse:
            // Another leader in our own term cannot exist (Election Safety); stale answers to
            // our campaign are moot now.
            break
        }
    }

    private mutating func stepCandidate(_ m: RaftMessage) {
        switch m.body {
        case .append, .heartbeat, .installSnapshot:
            // Someone won this term: follow it.
            becomeFollower(term: m.term, leader: m.from)
            stepFollower(m)
        case .preVoteResponse(let granted):
            guard role == .preCandidate else { return }
            votes[m.from] = votes[m.from] ?? granted
            tallyVotes()
        case .voteResponse(let granted):
            guard role == .candidate else { return }
            votes[m.from] = votes[m.from] ?? granted
            tallyVotes()
        case .preVote(let li, let lt):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: true)
        case .vote(let li, let lt, _):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: false)
        case .appendAccepted, .appendRejected, .heartbeatResponse, .timeoutNow:
            break
        }
    }

    private mutating func stepFollower(_ m: RaftMessage) {
        switch m.body {
        case .append(let prevIndex, let prevTerm, let entries, let leaderCommit):
            heardFromLeader(m.from)
            handleAppend(from: m.from, prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: leaderCommit)
        case .heartbeat(let leaderCommit):
            heardFromLeader(m.from)
            // The leader sends min(our match, its commit): we hold that prefix.
            log.commit(to: leaderCommit)
            send(m.from, .heartbeatResponse)
        case .installSnapshot(let snapshot):
            heardFromLeader(m.from)
            handleSnapshot(from: m.from, snapshot)
        case .timeoutNow:
            // The leader hands over: campaign at once, skipping the pre-vote, with a flag that
            // lets voters set their lease aside.
            if m.from == leader { startCampaign(leadershipTransfer: true) }
        case .preVote(let li, let lt):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: true)
        case .vote(let li, let lt, _):
            handleVoteRequest(m, lastIndex: li, lastTerm: lt, isPre: false)
        case .appendAccepted, .appendRejected, .heartbeatResponse, .voteResponse, .preVoteResponse:
            break
        }
    }

    private mutating func heardFromLeader(_ from: NodeID) {
        electionElapsed = 0
        leader = from
    }
}
