import SluiceCore
import SluiceWire

extension GroupCoordinator {
    /// SyncGroup (CLIENTS.md §4.4): followers park until the leader's assignments arrive;
    /// the leader's SyncGroup records the assignments and answers everyone.
    public mutating func syncGroup(
        _ request: SyncGroupInput, token: GroupRequestToken, nowMs: Int64, wallMs: Int64
    ) -> GroupOutput {
        noteClocks(nowMs: nowMs, wallMs: wallMs)
        let step = GroupStep(nowMs: nowMs, wallMs: wallMs, options: options, bug: injectedBug)
        var out = GroupOutput()
        guard !request.groupID.isEmpty else {
            out.sync(token, SyncGroupOutcome(errorCode: .invalidGroupID))
            return out
        }
        guard let group = groups[request.groupID] else {
            out.sync(token, SyncGroupOutcome(errorCode: .unknownMemberID))
            return out
        }
        if let error = group.memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) {
            out.sync(token, SyncGroupOutcome(errorCode: error))
            return out
        }
        guard request.generationID == group.generation else {
            out.sync(token, SyncGroupOutcome(errorCode: .illegalGeneration))
            return out
        }
        return groups[request.groupID]!.sync(request, token, step)
    }

    /// Heartbeat (CLIENTS.md §4.5), answered at once: it resets the member's session timer
    /// and tells it to rejoin while a join phase runs.
    public mutating func heartbeat(_ request: HeartbeatInput, nowMs: Int64) -> KafkaErrorCode {
        guard !request.groupID.isEmpty else { return .invalidGroupID }
        guard let group = groups[request.groupID] else { return .unknownMemberID }
        if let error = group.memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) {
            return error
        }
        guard request.generationID == group.generation else { return .illegalGeneration }
        let index = group.index(of: request.memberID)!
        groups[request.groupID]!.members[index].sessionDeadlineMs = nowMs + Int64(group.members[index].sessionTimeoutMs)
        switch group.status {
        case .empty: return .unknownMemberID
        case .preparingRebalance: return .rebalanceInProgress
        case .completingRebalance, .stable: return .none
        }
    }
}

extension ClassicGroup {
    /// SyncGroup from a validated member of the current generation.
    mutating func sync(_ request: SyncGroupInput, _ token: GroupRequestToken, _ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        let index = index(of: request.memberID)!
        members[index].sessionDeadlineMs = step.nowMs + Int64(members[index].sessionTimeoutMs)
        pendingSync.removeAll { $0 == request.memberID }
        if pendingSync.isEmpty { syncDeadlineMs = nil }
        switch status {
        case .empty:
            out.sync(token, SyncGroupOutcome(errorCode: .unknownMemberID))
        case .preparingRebalance:
            out.sync(token, SyncGroupOutcome(errorCode: .rebalanceInProgress))
        case .stable:
            out.sync(token, syncOutcome(members[index].assignment ?? []))
        case .completingRebalance:
            if let old = members[index].syncToken { out.sync(old, SyncGroupOutcome(errorCode: .rebalanceInProgress)) }
            members[index].syncToken = token
            if request.memberID == leaderID { out.append(storeAssignments(request.assignments, step)) }
        }
        return out
    }

    private func syncOutcome(_ assignment: [UInt8]) -> SyncGroupOutcome {
        SyncGroupOutcome(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: assignment)
    }

    /// The leader's assignments: members it left out get empty bytes; the group becomes
    /// Stable and every parked SyncGroup is answered with the record that makes it durable.
    /// Assignments too large for the group's record fail everyone (as Kafka does when its
    /// group metadata append is too large) and start a new join phase.
    private mutating func storeAssignments(_ assignments: [SyncGroupAssignment], _ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        var byMember: [String: [UInt8]] = [:]
        for a in assignments where byMember[a.memberID] == nil { byMember[a.memberID] = a.assignment }
        let total = members.reduce(0) { $0 + (byMember[$1.memberID]?.count ?? 0) }
        guard total <= GroupCoordinator.groupRecordPartBytesMax else {
            for i in members.indices {
                if let t = members[i].syncToken { out.sync(t, SyncGroupOutcome(errorCode: .unknownServerError)) }
                members[i].syncToken = nil
            }
            out.append(prepareRebalance(step))
            return out
        }
        for i in members.indices { members[i].assignment = byMember[members[i].memberID] ?? [] }
        status = .stable
        stateChangeWallMs = step.wallMs
        out.records.append(.groupState(stateRecord()))
        for i in members.indices {
            if let t = members[i].syncToken { out.sync(t, syncOutcome(members[i].assignment!)) }
            members[i].syncToken = nil
        }
        return out
    }
}
