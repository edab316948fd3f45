import SluiceCore
import SluiceWire

extension GroupCoordinator {
    /// JoinGroup (CLIENTS.md §4.2-4.3). The answer is usually parked until the join phase
    /// completes; errors, MEMBER_ID_REQUIRED and rejoins that change nothing answer at once.
    public mutating func joinGroup(
        _ request: JoinGroupInput, token: GroupRequestToken, nowMs: Int64, wallMs: Int64
    ) -> GroupOutput {
        noteClocks(nowMs: nowMs, wallMs: wallMs)
        let step = GroupStep(nowMs: nowMs, wallMs: wallMs, options: options, bug: injectedBug)
        func fail(_ error: KafkaErrorCode) -> GroupOutput {
            var out = GroupOutput()
            out.join(token, JoinGroupOutcome(errorCode: error, memberID: request.memberID))
            return out
        }
        if let error = validate(request) { return fail(error) }
        if groups[request.groupID] == nil {
            // Kafka: a non-empty member id for a group that does not exist is unknown.
            guard request.memberID.isEmpty else { return fail(.unknownMemberID) }
            guard request.protocolType.isEmpty == false, !request.protocols.isEmpty else {
                return fail(.inconsistentGroupProtocol)
            }
            groups[request.groupID] = ClassicGroup(groupID: request.groupID, wallMs: wallMs)
        }
        let group = groups[request.groupID]!
        guard group.supports(protocolType: request.protocolType, protocols: request.protocols, excluding: request.memberID)
        else {
            dropIfUnused(request.groupID)
            return fail(.inconsistentGroupProtocol)
        }
        if request.memberID.isEmpty {
            let isNewStatic = request.groupInstanceID.map { group.index(ofInstance: $0) == nil } ?? true
            if isNewStatic && group.members.count + group.pending.count >= options.maxGroupSize {
                dropIfUnused(request.groupID)
                return fail(.groupMaxSizeReached)
            }
            let memberID = newMemberID(clientID: request.clientID, in: group)
            if let instance = request.groupInstanceID, let old = group.index(ofInstance: instance) {
                return groups[request.groupID]!.replaceStaticMember(at: old, with: memberID, request, token, step)
            }
            if request.groupInstanceID == nil && request.requireKnownMemberID {
                groups[request.groupID]!.pending.append(
                    .init(memberID: memberID, deadlineMs: nowMs + Int64(request.sessionTimeoutMs)))
                return fail(.memberIDRequired).withMemberID(memberID)
            }
            return groups[request.groupID]!.addMember(memberID, request, token, step)
        }
        if let p = group.pending.firstIndex(where: { $0.memberID == request.memberID }), request.groupInstanceID == nil {
            groups[request.groupID]!.pending.remove(at: p)
            return groups[request.groupID]!.addMember(request.memberID, request, token, step)
        }
        if let error = group.memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) {
            return fail(error)
        }
        return groups[request.groupID]!.rejoin(at: group.index(of: request.memberID)!, request, token, step)
    }

    /// Request checks that need no group state.
    private func validate(_ request: JoinGroupInput) -> KafkaErrorCode? {
        if request.groupID.isEmpty || request.groupID.utf8.count > Self.stringBytesMax { return .invalidGroupID }
        let strings = [request.memberID, request.groupInstanceID ?? "", request.protocolType, request.clientID, request.clientHost]
            + request.protocols.map(\.name)
        if strings.contains(where: { $0.utf8.count > Self.stringBytesMax }) || request.protocols.count > Self.protocolsMax
            || request.groupInstanceID == ""
        {
            return .invalidRequest
        }
        if request.sessionTimeoutMs < options.minSessionTimeoutMs || request.sessionTimeoutMs > options.maxSessionTimeoutMs {
            return .invalidSessionTimeout
        }
        if request.rebalanceTimeoutMs <= 0 { return .invalidRequest }
        return nil
    }

    /// A group that the log does not know and that has nobody in it is forgotten.
    mutating func dropIfUnused(_ groupID: String) {
        guard let group = groups[groupID], !group.isDurable, group.status == .empty, group.pending.isEmpty else { return }
        groups[groupID] = nil
    }
}

extension GroupOutput {
    /// The same output with the (only) join reply carrying `memberID`.
    fileprivate func withMemberID(_ memberID: String) -> GroupOutput {
        var copy = self
        for i in copy.replies.indices {
            if case .join(var outcome) = copy.replies[i].body {
                outcome.memberID = memberID
                copy.replies[i].body = .join(outcome)
            }
        }
        return copy
    }
}

extension ClassicGroup {
    /// Budget check for the state record: members and subscriptions stay within their part.
    func fitsRecord(replacing memberID: String?, with member: GroupMemberState) -> Bool {
        let others = members.filter { $0.memberID != memberID }.reduce(0) { $0 + $1.recordBytesEstimate }
        return others + member.recordBytesEstimate <= GroupCoordinator.groupRecordPartBytesMax
    }

    /// A new member (dynamic, or static with a new instance id) joins and awaits the join phase.
    mutating func addMember(
        _ memberID: String, _ request: JoinGroupInput, _ token: GroupRequestToken, _ step: GroupStep
    ) -> GroupOutput {
        let member = GroupMemberState(input: request, memberID: memberID, token: token, nowMs: step.nowMs)
        guard fitsRecord(replacing: nil, with: member) else {
            var out = GroupOutput()
            out.join(token, JoinGroupOutcome(errorCode: .groupMaxSizeReached, memberID: memberID))
            return out
        }
        if members.isEmpty { protocolType = request.protocolType }
        members.append(member)
        if status == .preparingRebalance {
            newMemberAdded = true
            return maybeCompleteJoin(step)
        }
        return prepareRebalance(step)
    }

    /// A known member joins again.
    mutating func rejoin(
        at index: Int, _ request: JoinGroupInput, _ token: GroupRequestToken, _ step: GroupStep
    ) -> GroupOutput {
        var out = GroupOutput()
        var updated = members[index]
        updated.update(from: request)
        guard fitsRecord(replacing: updated.memberID, with: updated) else {
            out.join(token, JoinGroupOutcome(errorCode: .groupMaxSizeReached, memberID: updated.memberID))
            return out
        }
        let unchanged = members[index].protocols == request.protocols
        switch status {
        case .preparingRebalance:
            if let old = members[index].joinToken {
                out.join(old, JoinGroupOutcome(errorCode: .rebalanceInProgress, memberID: updated.memberID))
            }
            updated.joinToken = token
            members[index] = updated
            out.append(maybeCompleteJoin(step))
        case .completingRebalance where unchanged, .stable where unchanged && updated.memberID != leaderID:
            // Nothing changed: the member gets the current generation again.
            members[index].sessionDeadlineMs = step.nowMs + Int64(members[index].sessionTimeoutMs)
            out.join(token, joinOutcome(for: members[index]))
        case .completingRebalance, .stable:
            updated.joinToken = token
            members[index] = updated
            out.append(prepareRebalance(step))
        case .empty:
            out.join(token, JoinGroupOutcome(errorCode: .unknownMemberID, memberID: updated.memberID))
        }
        return out
    }

    /// A static member rejoins with an empty member id: it takes a new id and the old one is
    /// fenced (its parked requests get FENCED_INSTANCE_ID). A Stable group whose member's
    /// metadata is unchanged keeps its generation and assignments (recorded at once);
    /// otherwise the group rebalances.
    mutating func replaceStaticMember(
        at index: Int, with memberID: String, _ request: JoinGroupInput, _ token: GroupRequestToken, _ step: GroupStep
    ) -> GroupOutput {
        var out = GroupOutput()
        let old = members[index]
        var member = GroupMemberState(input: request, memberID: memberID, token: token, nowMs: step.nowMs)
        guard fitsRecord(replacing: old.memberID, with: member) else {
            out.join(token, JoinGroupOutcome(errorCode: .groupMaxSizeReached, memberID: memberID))
            return out
        }
        if let t = old.joinToken { out.join(t, JoinGroupOutcome(errorCode: .fencedInstanceID, memberID: old.memberID)) }
        if let t = old.syncToken { out.sync(t, SyncGroupOutcome(errorCode: .fencedInstanceID)) }
        member.assignment = old.assignment
        pendingSync = pendingSync.map { $0 == old.memberID ? memberID : $0 }
        if leaderID == old.memberID { leaderID = memberID }
        let name = protocolName ?? ""
        switch status {
        case .stable where member.metadata(for: name) != nil && member.metadata(for: name) == old.metadata(for: name):
            member.joinToken = nil
            members[index] = member
            stateChangeWallMs = step.wallMs
            out.records.append(.groupState(stateRecord()))
            out.join(token, joinOutcome(for: member))
        case .preparingRebalance:
            members[index] = member
            out.append(maybeCompleteJoin(step))
        case .stable, .completingRebalance, .empty:
            members[index] = member
            out.append(prepareRebalance(step))
        }
        return out
    }
}
