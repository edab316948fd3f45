import SluiceCore
import SluiceWire

extension GroupCoordinator {
    /// LeaveGroup (CLIENTS.md §4.7), single or batched: each member is removed (a static one
    /// may be named by instance id alone) and the group rebalances or becomes Empty.
    public mutating func leaveGroup(
        _ request: LeaveGroupInput, token: GroupRequestToken, nowMs: Int64, wallMs: Int64
    ) -> GroupOutput {
        noteClocks(nowMs: nowMs, wallMs: wallMs)
        let step = GroupStep(nowMs: nowMs, wallMs: wallMs, options: options, bug: injectedBug)
        var out = GroupOutput()
        guard !request.groupID.isEmpty else {
            out.replies.append(GroupReply(token: token, body: .leave(LeaveGroupOutcome(errorCode: .invalidGroupID, members: []))))
            return out
        }
        var results: [LeaveGroupMemberOutcome] = []
        for leaving in request.members {
            var error = KafkaErrorCode.unknownMemberID
            if groups[request.groupID] != nil {
                let (code, removal) = groups[request.groupID]!.leave(leaving, step)
                error = code
                out.append(removal)
            }
            results.append(
                LeaveGroupMemberOutcome(memberID: leaving.memberID, groupInstanceID: leaving.groupInstanceID, errorCode: error))
        }
        out.replies.append(GroupReply(token: token, body: .leave(LeaveGroupOutcome(errorCode: .none, members: results))))
        return out
    }
}

extension ClassicGroup {
    /// One member leaves: its error code and what its removal caused.
    mutating func leave(_ leaving: LeaveGroupMember, _ step: GroupStep) -> (KafkaErrorCode, GroupOutput) {
        if let instance = leaving.groupInstanceID {
            guard let i = index(ofInstance: instance) else { return (.unknownMemberID, GroupOutput()) }
            guard leaving.memberID.isEmpty || leaving.memberID == members[i].memberID else {
                return (.fencedInstanceID, GroupOutput())
            }
            return (.none, removeMember(at: i, error: .unknownMemberID, step))
        }
        if let p = pending.firstIndex(where: { $0.memberID == leaving.memberID }) {
            pending.remove(at: p)
            return (.none, maybeCompleteJoin(step))
        }
        guard let i = index(of: leaving.memberID) else { return (.unknownMemberID, GroupOutput()) }
        return (.none, removeMember(at: i, error: .unknownMemberID, step))
    }
}
