import SluiceCore
import SluiceWire

/// What a group step needs besides the group: the clocks, the options, an injected bug.
struct GroupStep {
    let nowMs: Int64
    let wallMs: Int64
    let options: GroupOptions
    let bug: GroupCoordinatorBug
}

extension GroupOutput {
    mutating func join(_ token: GroupRequestToken, _ outcome: JoinGroupOutcome) {
        replies.append(GroupReply(token: token, body: .join(outcome)))
    }

    mutating func sync(_ token: GroupRequestToken, _ outcome: SyncGroupOutcome) {
        replies.append(GroupReply(token: token, body: .sync(outcome)))
    }
}

// The join phase: Kafka's prepareRebalance, tryCompleteJoin, onCompleteJoin, and member removal.
extension ClassicGroup {
    /// Starts a join phase. Parked SyncGroups get REBALANCE_IN_PROGRESS and assignments are
    /// dropped; an Empty group's first join phase waits the initial rebalance delay.
    mutating func prepareRebalance(_ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        if status == .completingRebalance {
            for i in members.indices {
                members[i].assignment = nil
                if let token = members[i].syncToken {
                    out.sync(token, SyncGroupOutcome(errorCode: .rebalanceInProgress))
                    members[i].syncToken = nil
                }
            }
        }
        pendingSync = []
        syncDeadlineMs = nil
        let timeoutMs = rebalanceTimeoutMs
        if status == .empty && step.options.initialRebalanceDelayMs > 0 {
            let delayMs = min(Int64(step.options.initialRebalanceDelayMs), timeoutMs)
            joinDeadlineMs = step.nowMs + delayMs
            initialDelayRemainingMs = timeoutMs - delayMs
            newMemberAdded = false
            status = .preparingRebalance
            return out
        }
        joinDeadlineMs = step.nowMs + timeoutMs
        initialDelayRemainingMs = nil
        status = .preparingRebalance
        out.append(maybeCompleteJoin(step))
        return out
    }

    /// Completes the join phase early when every member has rejoined and no member id handed
    /// out with MEMBER_ID_REQUIRED is still outstanding (never during the initial delay).
    mutating func maybeCompleteJoin(_ step: GroupStep) -> GroupOutput {
        guard status == .preparingRebalance, initialDelayRemainingMs == nil, pending.isEmpty,
            members.allSatisfy({ $0.joinToken != nil })
        else { return GroupOutput() }
        return completeJoin(step)
    }

    /// The join-phase deadline passed: extend the initial delay if new members keep
    /// arriving, else complete the phase.
    mutating func joinDeadlinePassed(_ step: GroupStep) -> GroupOutput {
        if let remaining = initialDelayRemainingMs, newMemberAdded, remaining > 0 {
            let delayMs = min(Int64(step.options.initialRebalanceDelayMs), remaining)
            // From the deadline, not from the tick: late ticks must not stretch the delay.
            joinDeadlineMs = (joinDeadlineMs ?? step.nowMs) + delayMs
            initialDelayRemainingMs = remaining - delayMs
            newMemberAdded = false
            return GroupOutput()
        }
        initialDelayRemainingMs = nil
        return completeJoin(step)
    }

    /// Kafka's onCompleteJoin: members that did not rejoin are dropped, the generation is
    /// bumped, the protocol and leader chosen, every parked JoinGroup answered together with
    /// the group's new state record.
    mutating func completeJoin(_ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        members.removeAll { $0.joinToken == nil }
        if step.bug != .keepGenerationOnRebalance || generation.rawValue == 0 {
            generation = GenerationID(generation.rawValue &+ 1)
        }
        joinDeadlineMs = nil
        initialDelayRemainingMs = nil
        stateChangeWallMs = step.wallMs
        if members.isEmpty {
            status = .empty
            protocolName = nil
            leaderID = nil
            out.records.append(.groupState(stateRecord()))
            return out
        }
        protocolName = selectProtocol()
        if leaderID == nil || index(of: leaderID!) == nil { leaderID = members[0].memberID }
        status = .completingRebalance
        for i in members.indices {
            members[i].assignment = nil
            members[i].sessionDeadlineMs = step.nowMs + Int64(members[i].sessionTimeoutMs)
        }
        for i in members.indices {
            if let token = members[i].joinToken { out.join(token, joinOutcome(for: members[i])) }
            members[i].joinToken = nil
        }
        pendingSync = members.map(\.memberID)
        syncDeadlineMs = step.nowMs + rebalanceTimeoutMs
        out.records.append(.groupState(stateRecord()))
        return out
    }

    /// Removes a member (leave, session or sync expiry): its parked requests get `error`, and
    /// the group rebalances (or finishes its join phase without it).
    mutating func removeMember(at index: Int, error: KafkaErrorCode, _ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        let member = members.remove(at: index)
        if let token = member.joinToken { out.join(token, JoinGroupOutcome(errorCode: error, memberID: member.memberID)) }
        if let token = member.syncToken { out.sync(token, SyncGroupOutcome(errorCode: error)) }
        pendingSync.removeAll { $0 == member.memberID }
        if leaderID == member.memberID { leaderID = members.first?.memberID }
        switch status {
        case .empty: break
        case .preparingRebalance: out.append(maybeCompleteJoin(step))
        case .completingRebalance, .stable: out.append(prepareRebalance(step))
        }
        return out
    }
}
