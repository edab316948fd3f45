import SluiceCore
import SluiceWire

extension GroupCoordinator {
    /// Timers: session expiry of members and of member ids handed out with
    /// MEMBER_ID_REQUIRED, join-phase completion (rebalance timeout, initial delay), the sync
    /// timeout, and offsets retention of empty groups. Groups are visited by id, so the
    /// output is deterministic.
    public mutating func tick(nowMs: Int64, wallMs: Int64) -> GroupOutput {
        noteClocks(nowMs: nowMs, wallMs: wallMs)
        let step = GroupStep(nowMs: nowMs, wallMs: wallMs, options: options, bug: injectedBug)
        var out = GroupOutput()
        for id in groups.keys.sorted() {
            out.append(groups[id]!.expire(step))
            dropIfUnused(id)
            if groups[id] != nil, let deadline = groups[id]!.retentionDeadlineWallMs(retentionMs: options.offsetsRetentionMs),
                deadline <= wallMs
            {
                groups[id] = nil
                out.records.append(.removeGroup(RemoveGroupRecord(groupID: id)))
            }
        }
        return out
    }
}

extension ClassicGroup {
    /// Everything due at `step.nowMs` for this group.
    mutating func expire(_ step: GroupStep) -> GroupOutput {
        var out = GroupOutput()
        let now = step.nowMs
        if pending.contains(where: { $0.deadlineMs <= now }) {
            pending.removeAll { $0.deadlineMs <= now }
            out.append(maybeCompleteJoin(step))
        }
        while let i = members.firstIndex(where: { !$0.isParked && $0.sessionDeadlineMs <= now }) {
            out.append(removeMember(at: i, error: .unknownMemberID, step))
        }
        while status == .preparingRebalance, let deadline = joinDeadlineMs, deadline <= now {
            out.append(joinDeadlinePassed(step))
        }
        if status == .completingRebalance || status == .stable, let deadline = syncDeadlineMs, deadline <= now {
            let late = pendingSync
            syncDeadlineMs = nil
            for id in late {
                if let i = index(of: id) { out.append(removeMember(at: i, error: .unknownMemberID, step)) }
            }
        }
        return out
    }
}
