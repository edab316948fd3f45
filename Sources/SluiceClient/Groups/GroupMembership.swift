import SluiceCore
import SluiceWire

/// One member of a JoinGroup response (the leader gets all of them).
struct GroupJoinMember: Sendable, Hashable {
    var memberID: String
    var groupInstanceID: String?
    /// The member's subscription metadata for the chosen protocol.
    var metadata: [UInt8]

    init(memberID: String, groupInstanceID: String?, metadata: [UInt8]) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.metadata = metadata
    }
}

/// A JoinGroup answer, version-neutral.
struct GroupJoinResult: Sendable, Hashable {
    var errorCode: KafkaErrorCode
    var memberID: String
    var generation: GenerationID
    var protocolName: String?
    var leaderID: String
    var members: [GroupJoinMember]
}

/// What the group-membership state machine asks its driver to do, in order.
enum GroupAction: Sendable, Hashable {
    /// Send JoinGroup; the subscription carries `ownedPartitions` owned in `generation`.
    case sendJoin(memberID: String, ownedPartitions: [TopicPartition], generation: GenerationID)
    /// This member leads: run the assignor named `protocolName` over `members`, then call
    /// `leaderAssigned`.
    case computeAssignment(protocolName: String, members: [GroupJoinMember])
    /// Send SyncGroup (`assignments` empty unless this member leads).
    case sendSync(generation: GenerationID, memberID: String, assignments: [String: [UInt8]])
    /// Commit the progress of these partitions, then stop fetching them (a clean revocation).
    case revoke([TopicPartition])
    /// Stop fetching these partitions WITHOUT committing: the membership is gone, a commit
    /// would be rejected, and another member may already own them.
    case lose([TopicPartition])
    /// Start fetching these partitions from their committed offsets.
    case assigned([TopicPartition])
    /// Forget the cached coordinator and find it again before the next group request.
    case findCoordinator
    /// Heartbeat every heartbeat interval while the member stays `stable` in `generation`.
    case startHeartbeats(generation: GenerationID, memberID: String)
    /// Send LeaveGroup.
    case sendLeave(memberID: String)
    /// The group cannot be joined (e.g. FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL).
    case fail(KafkaErrorCode)
}

/// The client side of the classic group protocol as a pure state machine (no I/O, no clock):
/// join → (MEMBER_ID_REQUIRED → join again) → sync (the leader assigns) → stable with
/// heartbeats, and back to join on REBALANCE_IN_PROGRESS. Each event returns the actions the
/// driver performs in order. Kafka's `AbstractCoordinator`/`ConsumerCoordinator` rules:
/// - eager: every owned partition is revoked (committed) before each JoinGroup;
/// - cooperative: owned partitions are kept through the rebalance; after SyncGroup the member
///   revokes only what its new assignment lacks and, if it revoked anything, rejoins at once so
///   the partitions reach their new owner;
/// - UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION: the membership is gone; owned partitions are lost
///   (not committed), and the member joins again as new;
/// - NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS (and a lost
///   connection): find the coordinator again, then retry the step that failed.
struct GroupMembership: Sendable {
    enum Phase: Sendable, Hashable {
        case idle, joining, assigning, syncing, stable, left, failed
    }

    let rebalanceProtocol: RebalanceProtocol
    let groupInstanceID: String?
    private(set) var phase: Phase = .idle
    private(set) var memberID = ""
    private(set) var generation = GenerationID.none
    private(set) var protocolName: String?
    /// Invariant: sorted, no duplicates; empty while joining under the eager protocol.
    private(set) var owned: [TopicPartition] = []

    init(rebalanceProtocol: RebalanceProtocol, groupInstanceID: String? = nil) {
        self.rebalanceProtocol = rebalanceProtocol
        self.groupInstanceID = groupInstanceID
    }

    /// (Re)joins: from idle, from stable (a rebalance), or to retry a join step.
    mutating func join() -> [GroupAction] {
        guard phase != .left, phase != .failed else { return [] }
        var actions: [GroupAction] = []
        if rebalanceProtocol == .eager, !owned.isEmpty {
            actions.append(.revoke(owned))
            owned = []
        }
        phase = .joining
        actions.append(.sendJoin(memberID: memberID, ownedPartitions: owned, generation: generation))
        return actions
    }

    /// The JoinGroup answer.
    mutating func joined(_ result: GroupJoinResult) -> [GroupAction] {
        guard phase == .joining else { return [] }
        switch result.errorCode {
        case .none:
            memberID = result.memberID
            generation = result.generation
            protocolName = result.protocolName
            if result.leaderID == memberID, let name = result.protocolName {
                phase = .assigning
                return [.computeAssignment(protocolName: name, members: result.members)]
            }
            phase = .syncing
            return [.sendSync(generation: generation, memberID: memberID, assignments: [:])]
        case .memberIDRequired:
            memberID = result.memberID
            return join()
        case let code:
            return rejoinAfterFailedRound(code)
        }
    }

    /// The leader's assignor finished: `assignments` maps member ids to assignment bytes.
    mutating func leaderAssigned(_ assignments: [String: [UInt8]]) -> [GroupAction] {
        guard phase == .assigning else { return [] }
        phase = .syncing
        return [.sendSync(generation: generation, memberID: memberID, assignments: assignments)]
    }

    /// The SyncGroup answer with this member's decoded assignment.
    mutating func synced(_ errorCode: KafkaErrorCode, assignment: [TopicPartition]) -> [GroupAction] {
        guard phase == .syncing else { return [] }
        switch errorCode {
        case .none:
            let new = Set(assignment)
            let old = Set(owned)
            let revoked = old.subtracting(new).sorted()
            let added = new.subtracting(old).sorted()
            owned = new.sorted()
            phase = .stable
            var actions: [GroupAction] = []
            if !revoked.isEmpty { actions.append(.revoke(revoked)) }
            if !added.isEmpty { actions.append(.assigned(added)) }
            if !revoked.isEmpty, rebalanceProtocol == .cooperative {
                // KIP-429: the revoked partitions reach their new owner in the next rebalance.
                return actions + join()
            }
            return actions + [.startHeartbeats(generation: generation, memberID: memberID)]
        case let code:
            return rejoinAfterFailedRound(code)
        }
    }

    /// A heartbeat answer for the heartbeat sent in `generation`; stale answers are ignored.
    mutating func heartbeatAnswered(_ errorCode: KafkaErrorCode, generation sent: GenerationID) -> [GroupAction] {
        guard phase == .stable, sent == generation else { return [] }
        return groupRejected(errorCode)
    }

    /// An OffsetCommit answered with a group error (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION…).
    mutating func commitRejected(_ errorCode: KafkaErrorCode, generation sent: GenerationID) -> [GroupAction] {
        guard phase == .stable, sent == generation else { return [] }
        return groupRejected(errorCode)
    }

    /// A group request failed without an answer (connection lost, timeout).
    mutating func coordinatorUnreachable() -> [GroupAction] {
        switch phase {
        case .joining, .assigning, .syncing: return [.findCoordinator] + join()
        case .stable: return [.findCoordinator]
        case .idle, .left, .failed: return []
        }
    }

    /// Leaves the group for good: revokes (commits) what it owns and sends LeaveGroup. A static
    /// member does not send LeaveGroup (Kafka's rule: its instance id keeps its place until the
    /// session times out, so a quick restart does not rebalance).
    mutating func leave() -> [GroupAction] {
        guard phase != .left, phase != .failed else { return [] }
        var actions: [GroupAction] = []
        if !owned.isEmpty { actions.append(.revoke(owned)) }
        owned = []
        if !memberID.isEmpty, groupInstanceID == nil { actions.append(.sendLeave(memberID: memberID)) }
        phase = .left
        return actions
    }

    /// A JoinGroup or SyncGroup refused: join again (as a new member if the id or generation
    /// is gone, after finding the coordinator if it moved), or fail on anything else.
    private mutating func rejoinAfterFailedRound(_ errorCode: KafkaErrorCode) -> [GroupAction] {
        switch errorCode {
        case .rebalanceInProgress: return join()
        case .unknownMemberID, .illegalGeneration: return resetMembership() + join()
        case let code where Self.isCoordinatorError(code): return [.findCoordinator] + join()
        case let code: return fail(code)
        }
    }

    private mutating func groupRejected(_ errorCode: KafkaErrorCode) -> [GroupAction] {
        switch errorCode {
        case .none: return []
        case .rebalanceInProgress: return join()
        case .unknownMemberID, .illegalGeneration: return resetMembership() + join()
        case let code where Self.isCoordinatorError(code): return [.findCoordinator]
        case let code where code.isRetriable: return []
        case let code: return fail(code)
        }
    }

    /// Forgets the member id and generation; owned partitions are lost, not committed.
    private mutating func resetMembership() -> [GroupAction] {
        let lost = owned
        owned = []
        memberID = ""
        generation = .none
        return lost.isEmpty ? [] : [.lose(lost)]
    }

    private mutating func fail(_ code: KafkaErrorCode) -> [GroupAction] {
        let lost = owned
        owned = []
        phase = .failed
        return (lost.isEmpty ? [] : [.lose(lost)]) + [.fail(code)]
    }

    /// Errors that mean "ask FindCoordinator again".
    static func isCoordinatorError(_ code: KafkaErrorCode) -> Bool {
        code == .notCoordinator || code == .coordinatorNotAvailable || code == .coordinatorLoadInProgress
    }
}
