import SluiceCore

extension RaftNode {
    // MARK: role changes

    mutating func becomeFollower(term newTerm: RaftTerm, leader newLeader: NodeID?) {
        precondition(newTerm >= term, "terms never go back")
        if newTerm > term {
            term = newTerm
            vote = nil
        }
        role = .follower
        leader = newLeader
        resetRoleState()
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "a leader does not pre-campaign")
        // Term and vote stay: a pre-campaign changes nothing that must be persisted.
        role = .preCandidate
        leader = nil
        resetRoleState()
        votes[id] = true
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader does not campaign")
        term = term.next
        vote = id
        role = .candidate
        leader = nil
        resetRoleState()
        votes[id] = true
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate wins an election")
        role = .leader
        leader = id
        resetRoleState()
        let next = log.lastIndex.next
        for member in configuration.members {
            var p = Progress(next: next, isLearner: configuration.isLearner(member))
            if member == id {
                _ = p.selfPersisted(to: log.stableLastIndex)
                p.recentActive = true
            }
            progress[member] = p
        }
        // The leader-change entry lets this leader commit the entries of earlier terms it
        // holds by counting replicas of an entry of its own term (paper §5.4.2, Figure 8).
        _ = appendAsLeader(kind: .leaderChange, data: [])
    }

    private mutating func resetRoleState() {
        electionElapsed = 0
        heartbeatElapsed = 0
        resetRandomizedElectionTimeout()
        leadTransferee = nil
        progress = [:]
        votes = [:]
    }

    // MARK: ticks

    mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            startCampaign(leadershipTransfer: false)
        }
    }

    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= options.electionTicks {
            electionElapsed = 0
            if options.checkQuorum && !quorumRecentlyActive() {
                // Partitioned from a quorum: stop accepting proposals that cannot commit,
                // and let the majority side elect a leader without being disrupted.
                becomeFollower(term: term, leader: nil)
                return
            }
            for member in configuration.members where member != id { progress[member]?.recentActive = false }
            // A transfer that did not finish within an election timeout is abandoned.
            leadTransferee = nil
        }
        tickSnapshotRetries()
        if heartbeatElapsed >= options.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    private func quorumRecentlyActive() -> Bool {
        configuration.voters.filter { $0 == id || progress[$0]?.recentActive == true }.count
            >= configuration.quorum
    }

    // MARK: campaigning

    mutating func startCampaign(leadershipTransfer: Bool) {
        guard isPromotable else { return }
        if options.preVote && !leadershipTransfer {
            becomePreCandidate()
        } else {
            becomeCandidate()
        }
        if tallyVotes() { return }
        let isPre = role == .preCandidate
        // A pre-vote asks about the term this node would campaign in, without entering it.
        let campaignTerm = isPre ? term.next : term
        for voter in configuration.voters where voter != id {
            let body: RaftMessage.Body =
                isPre
                ? .preVote(lastIndex: log.lastIndex, lastTerm: log.lastTerm)
                : .vote(lastIndex: log.lastIndex, lastTerm: log.lastTerm, leadershipTransfer: leadershipTransfer)
            send(voter, body, term: campaignTerm)
        }
    }

    /// Count the answers so far; on a win, move on (pre-candidate → candidate → leader), on a
    /// certain loss fall back to follower. Returns whether the campaign ended.
    @discardableResult
    mutating func tallyVotes() -> Bool {
        let granted = votes.filter { $0.value && configuration.isVoter($0.key) }.count
        let refused = votes.filter { !$0.value && configuration.isVoter($0.key) }.count
        if granted >= configuration.quorum {
            if role == .preCandidate {
                startCampaignAfterPreVote()
            } else {
                becomeLeader()
            }
            return true
        }
        if refused > configuration.voters.count - configuration.quorum {
            becomeFollower(term: term, leader: nil)
            return true
        }
        return false
    }

    private mutating func startCampaignAfterPreVote() {
        becomeCandidate()
        if tallyVotes() { return }
        for voter in configuration.voters where voter != id {
            send(voter, .vote(lastIndex: log.lastIndex, lastTerm: log.lastTerm, leadershipTransfer: false))
        }
    }

    // MARK: answering campaigns

    /// Whether this node holds a live leader's lease: it heard from a leader within the
    /// minimum election timeout, so a vote request can only come from a disruptive node.
    var inLeaderLease: Bool {
        options.checkQuorum && leader != nil && electionElapsed < options.electionTicks
    }

    mutating func handleVoteRequest(_ m: RaftMessage, lastIndex: RaftIndex, lastTerm: RaftTerm, isPre: Bool) {
        let canVote =
            vote == m.from
            || (vote == nil && leader == nil)
            // A pre-vote for a later term commits to nothing.
            || (isPre && m.term > term)
        let grant = canVote && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm)
        if isPre {
            // Granted answers carry the asked term so the pre-candidate counts them; refusals
            // carry ours so that a stale pre-candidate catches up.
            send(m.from, .preVoteResponse(granted: grant), term: grant ? m.term : term)
        } else {
            if grant {
                vote = m.from
                electionElapsed = 0
            }
            send(m.from, .voteResponse(granted: grant))
        }
    }
}
