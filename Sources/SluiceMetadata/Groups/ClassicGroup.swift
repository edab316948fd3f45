import SluiceCore
import SluiceWire

/// A group's state in the coordinator's memory (Kafka's `ClassicGroup`): the durable part
/// (what the last `GroupStateRecord` says, plus what the coordinator's own pending records
/// say) and the in-memory part (parked requests, timers, pending member ids, the join phase).
struct ClassicGroup: Sendable {
    /// Kafka's group states. Dead groups are not kept: they are removed from the coordinator.
    enum Status: Sendable, Equatable {
        case empty, preparingRebalance, completingRebalance, stable

        var kafkaName: String {
            switch self {
            case .empty: "Empty"
            case .preparingRebalance: "PreparingRebalance"
            case .completingRebalance: "CompletingRebalance"
            case .stable: "Stable"
            }
        }
    }

    /// A member id handed out with MEMBER_ID_REQUIRED that has not joined with it yet.
    struct PendingMember: Sendable {
        var memberID: String
        var deadlineMs: Int64
    }

    let groupID: String
    var status: Status
    var protocolType: String
    var generation: GenerationID
    var protocolName: String?
    /// Invariant: a member's id whenever the status is completingRebalance or stable.
    var leaderID: String?
    var stateChangeWallMs: Int64
    var lastCommitWallMs: Int64?
    /// In join order (the first is the leader when the old leader is gone).
    var members: [GroupMemberState]
    var pending: [PendingMember]
    /// When the join phase ends (only in preparingRebalance).
    var joinDeadlineMs: Int64?
    /// Set during an Empty group's initial rebalance delay: how much of the rebalance timeout
    /// the delay may still be extended by.
    var initialDelayRemainingMs: Int64?
    /// A new member joined during the current delay, so the delay is extended once more.
    var newMemberAdded: Bool
    /// Members of the current generation that have not sent SyncGroup yet.
    var pendingSync: [String]
    /// When members still in `pendingSync` are removed (after a completed join phase).
    var syncDeadlineMs: Int64?
    /// The log knows this group (it came from the image or a record was written for it); a
    /// group that never was durable is forgotten without a record.
    var isDurable: Bool

    /// A group no member has joined yet (generation 0, as Kafka's new group).
    init(groupID: String, wallMs: Int64) {
        self.init(state: GroupImage.initialState(groupID: groupID, wallMs: wallMs), lastCommitWallMs: nil, nowMs: 0)
        isDurable = false
    }

    /// The group as the log recorded it; every member gets a fresh session timer from `nowMs`,
    /// and a group that was completing a rebalance waits for SyncGroups until the rebalance
    /// timeout, then rebalances.
    init(state: GroupStateRecord, lastCommitWallMs: Int64?, nowMs: Int64) {
        groupID = state.groupID
        protocolType = state.protocolType
        generation = state.generation
        protocolName = state.protocolName
        leaderID = state.leaderID
        stateChangeWallMs = state.stateChangeWallMs
        self.lastCommitWallMs = lastCommitWallMs
        members = state.members.map { GroupMemberState(record: $0, protocolName: state.protocolName ?? "", nowMs: nowMs) }
        pending = []
        joinDeadlineMs = nil
        initialDelayRemainingMs = nil
        newMemberAdded = false
        isDurable = true
        switch state.phase {
        case .empty:
            status = .empty
            pendingSync = []
            syncDeadlineMs = nil
        case .completingRebalance:
            status = .completingRebalance
            pendingSync = members.map(\.memberID)
            syncDeadlineMs = nowMs + Int64(members.map(\.rebalanceTimeoutMs).max() ?? 0)
        case .stable:
            status = .stable
            pendingSync = []
            syncDeadlineMs = nil
        }
    }

    func index(of memberID: String) -> Int? { members.firstIndex { $0.memberID == memberID } }

    func index(ofInstance instanceID: String) -> Int? { members.firstIndex { $0.groupInstanceID == instanceID } }

    /// The largest rebalance timeout among the members: how long a join phase waits.
    var rebalanceTimeoutMs: Int64 { Int64(members.map(\.rebalanceTimeoutMs).max() ?? 0) }

    /// Kafka's `validateMember`: the error for a request naming this member, or nil.
    func memberError(memberID: String, groupInstanceID: String?) -> KafkaErrorCode? {
        if let instance = groupInstanceID {
            guard let i = index(ofInstance: instance) else { return .unknownMemberID }
            return members[i].memberID == memberID ? nil : .fencedInstanceID
        }
        return index(of: memberID) == nil ? .unknownMemberID : nil
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol type and list;
    /// otherwise the type must match and one protocol must be supported by every other member.
    func supports(protocolType type: String, protocols: [GroupProtocol], excluding memberID: String) -> Bool {
        let others = members.filter { $0.memberID != memberID }
        if others.isEmpty { return !type.isEmpty && !protocols.isEmpty }
        return type == protocolType
            && protocols.contains { p in others.allSatisfy { $0.metadata(for: p.name) != nil } }
    }

    /// Kafka's `selectProtocol`: among the protocols every member supports, each member votes
    /// for the first one in its preference order; most votes wins, a tie goes to the protocol
    /// the first member prefers.
    func selectProtocol() -> String {
        precondition(!members.isEmpty, "protocol selection for an empty group")
        let candidates = members[0].protocols.map(\.name).filter { name in
            members.allSatisfy { $0.metadata(for: name) != nil }
        }
        precondition(!candidates.isEmpty, "group \(groupID) members share no protocol")
        var votes = [Int](repeating: 0, count: candidates.count)
        for member in members {
            if let choice = member.protocols.lazy.compactMap({ candidates.firstIndex(of: $0.name) }).first {
                votes[choice] += 1
            }
        }
        let best = votes.max()!
        return candidates[votes.firstIndex(of: best)!]
    }

    /// The durable state as a record; the group is durable from now on.
    mutating func stateRecord() -> GroupStateRecord {
        isDurable = true
        let phase: GroupPhase =
            switch status {
            case .empty: .empty
            case .completingRebalance: .completingRebalance
            case .stable: .stable
            case .preparingRebalance: preconditionFailure("a join phase is not durable")
            }
        let name = protocolName ?? ""
        return GroupStateRecord(
            groupID: groupID, protocolType: protocolType, generation: generation, protocolName: protocolName,
            leaderID: leaderID, phase: phase, stateChangeWallMs: stateChangeWallMs,
            members: members.map { $0.record(protocolName: name) })
    }

    /// The JoinGroup answer for a member of the current generation.
    func joinOutcome(for member: GroupMemberState) -> JoinGroupOutcome {
        let name = protocolName ?? ""
        let isLeader = member.memberID == leaderID
        return JoinGroupOutcome(
            errorCode: .none, generationID: generation, protocolType: protocolType, protocolName: protocolName,
            leaderID: leaderID ?? "", memberID: member.memberID,
            members: isLeader
                ? members.map {
                    JoinGroupMember(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata(for: name) ?? [])
                } : [])
    }

    /// When this empty group and its offsets expire (wall clock): retention after it became
    /// empty or after its last commit, whichever is later.
    func retentionDeadlineWallMs(retentionMs: Int64) -> Int64? {
        guard status == .empty, pending.isEmpty else { return nil }
        return max(stateChangeWallMs, lastCommitWallMs ?? .min) + retentionMs
    }
}

/// One member in the coordinator's memory.
struct GroupMemberState: Sendable {
    var memberID: String
    var groupInstanceID: String?
    var clientID: String
    var clientHost: String
    var sessionTimeoutMs: Int32
    var rebalanceTimeoutMs: Int32
    /// In preference order; a member rebuilt from the log knows only the chosen protocol.
    var protocols: [GroupProtocol]
    var assignment: [UInt8]?
    var sessionDeadlineMs: Int64
    /// A parked JoinGroup, answered when the join phase completes.
    var joinToken: GroupRequestToken?
    /// A parked SyncGroup, answered when the leader's assignments arrive.
    var syncToken: GroupRequestToken?

    init(input: JoinGroupInput, memberID: String, token: GroupRequestToken, nowMs: Int64) {
        self.memberID = memberID
        groupInstanceID = input.groupInstanceID
        clientID = input.clientID
        clientHost = input.clientHost
        sessionTimeoutMs = input.sessionTimeoutMs
        rebalanceTimeoutMs = input.rebalanceTimeoutMs
        protocols = input.protocols
        assignment = nil
        sessionDeadlineMs = nowMs + Int64(input.sessionTimeoutMs)
        joinToken = token
        syncToken = nil
    }

    init(record: GroupMemberRecord, protocolName: String, nowMs: Int64) {
        memberID = record.memberID
        groupInstanceID = record.groupInstanceID
        clientID = record.clientID
        clientHost = record.clientHost
        sessionTimeoutMs = record.sessionTimeoutMs
        rebalanceTimeoutMs = record.rebalanceTimeoutMs
        protocols = [GroupProtocol(name: protocolName, metadata: record.subscription)]
        assignment = record.assignment
        sessionDeadlineMs = nowMs + Int64(record.sessionTimeoutMs)
        joinToken = nil
        syncToken = nil
    }

    func metadata(for name: String) -> [UInt8]? { protocols.first { $0.name == name }?.metadata }

    /// A member with a parked request is not expired by its session timer: the join phase's
    /// rebalance timeout or the sync timeout bounds it instead (as Kafka).
    var isParked: Bool { joinToken != nil || syncToken != nil }

    /// The joining request's settings replace the member's.
    mutating func update(from input: JoinGroupInput) {
        clientID = input.clientID
        clientHost = input.clientHost
        sessionTimeoutMs = input.sessionTimeoutMs
        rebalanceTimeoutMs = input.rebalanceTimeoutMs
        protocols = input.protocols
    }

    func record(protocolName: String) -> GroupMemberRecord {
        GroupMemberRecord(
            memberID: memberID, groupInstanceID: groupInstanceID, clientID: clientID, clientHost: clientHost,
            sessionTimeoutMs: sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeoutMs,
            subscription: metadata(for: protocolName) ?? [], assignment: assignment)
    }

    /// Bytes this member takes in a group state record, without its assignment.
    var recordBytesEstimate: Int {
        memberID.utf8.count + (groupInstanceID?.utf8.count ?? 0) + clientID.utf8.count + clientHost.utf8.count
            + (protocols.map(\.metadata.count).max() ?? 0) + 32
    }
}
