import SluiceCore
import SluiceMetadata
import SluiceWire

// The classic consumer-group protocol (CLIENTS.md §4). Each handler translates its Kafka
// versions into the coordinator's version-neutral inputs and the outcome back; the logic is in
// `SluiceMetadata/Groups`, driven by `GroupCoordinatorService`. The controller coordinates every
// group: other nodes answer NOT_COORDINATOR, a controller still loading answers
// COORDINATOR_LOAD_IN_PROGRESS.

/// FindCoordinator (key 10). v0 must be advertised: librdkafka < 2.11.1 (kcat) turns consumer
/// groups off without it (CLIENTS.md §1c). Answers the controller's client endpoint, as its
/// broker registration in the image has it.
struct FindCoordinatorHandler: KafkaAPIHandler {
    typealias Request = FindCoordinatorRequest
    static let versions: ClosedRange<Int16> = 0...2
    let services: BrokerServices

    /// `key_type` 0: a consumer group; 1 is a transactional id.
    static let groupKeyType: Int8 = 0

    func handle(_ request: FindCoordinatorRequest, _ context: RequestContext) async -> FindCoordinatorResponse? {
        guard request.keyType == Self.groupKeyType else {
            let message = request.keyType == 1 ? "transactions are not supported" : "unknown key type \(request.keyType)"
            return Self.failure(.invalidRequest, message)
        }
        let snapshot = services.metadata.current
        guard let controller = snapshot.controllerID, let broker = snapshot.image.brokers[controller], !broker.isFenced else {
            return Self.failure(.coordinatorNotAvailable, "no controller is known yet")
        }
        return FindCoordinatorResponse(errorCode: 0, errorMessage: nil, nodeID: controller,
                                       host: broker.clientEndpoint.host, port: Int32(broker.clientEndpoint.port))
    }

    static func failure(_ code: KafkaErrorCode, _ message: String) -> FindCoordinatorResponse {
        FindCoordinatorResponse(errorCode: code.rawValue, errorMessage: message, nodeID: .none, host: "", port: -1)
    }
}

/// JoinGroup (key 11). v0 has no rebalance timeout: the session timeout stands in, as in Kafka.
/// v4+ requires a known member id (a new member first gets MEMBER_ID_REQUIRED with its id);
/// v5+ carries `group.instance.id` (static members). The answer is held until the join phase
/// completes, possibly the whole rebalance timeout (`KafkaServer` has no request timeout).
struct JoinGroupHandler: KafkaAPIHandler {
    typealias Request = JoinGroupRequest
    static let versions: ClosedRange<Int16> = 0...5
    let groups: GroupCoordinatorService

    static func input(_ request: JoinGroupRequest, _ context: RequestContext) -> JoinGroupInput {
        JoinGroupInput(
            groupID: request.groupID, memberID: request.memberID,
            groupInstanceID: context.version >= 5 ? request.groupInstanceID : nil, protocolType: request.protocolType,
            protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: $0.metadata) },
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: context.version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            clientID: context.clientID ?? "", clientHost: context.clientHost, requireKnownMemberID: context.version >= 4)
    }

    func handle(_ request: JoinGroupRequest, _ context: RequestContext) async -> JoinGroupResponse? {
        switch await groups.joinGroup(Self.input(request, context)) {
        case .success(let outcome):
            return JoinGroupResponse(
                errorCode: outcome.errorCode.rawValue, generationID: outcome.generationID,
                protocolName: outcome.protocolName ?? "", leader: outcome.leaderID, memberID: outcome.memberID,
                members: outcome.members.map { .init(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata) })
        case .failure(let refusal):
            return JoinGroupResponse(errorCode: refusal.errorCode.rawValue, generationID: .none, memberID: request.memberID)
        }
    }
}

/// SyncGroup (key 14): the leader's assignments in, each member's assignment out; followers
/// are held until the leader's arrives. v3+ carries `group.instance.id`.
struct SyncGroupHandler: KafkaAPIHandler {
    typealias Request = SyncGroupRequest
    static let versions: ClosedRange<Int16> = 0...3
    let groups: GroupCoordinatorService

    static func input(_ request: SyncGroupRequest, _ context: RequestContext) -> SyncGroupInput {
        SyncGroupInput(groupID: request.groupID, generationID: request.generationID, memberID: request.memberID,
                       groupInstanceID: context.version >= 3 ? request.groupInstanceID : nil,
                       assignments: request.assignments.map { SyncGroupAssignment(memberID: $0.memberID, assignment: $0.assignment) })
    }

    func handle(_ request: SyncGroupRequest, _ context: RequestContext) async -> SyncGroupResponse? {
        switch await groups.syncGroup(Self.input(request, context)) {
        case .success(let outcome): return SyncGroupResponse(errorCode: outcome.errorCode.rawValue, assignment: outcome.assignment)
        case .failure(let refusal): return SyncGroupResponse(errorCode: refusal.errorCode.rawValue, assignment: [])
        }
    }
}

/// Heartbeat (key 12), answered at once from memory. v3+ carries `group.instance.id`.
struct HeartbeatHandler: KafkaAPIHandler {
    typealias Request = HeartbeatRequest
    static let versions: ClosedRange<Int16> = 0...3
    let groups: GroupCoordinatorService

    func handle(_ request: HeartbeatRequest, _ context: RequestContext) async -> HeartbeatResponse? {
        let input = HeartbeatInput(groupID: request.groupID, generationID: request.generationID, memberID: request.memberID,
                                   groupInstanceID: context.version >= 3 ? request.groupInstanceID : nil)
        switch await groups.heartbeat(input) {
        case .success(let code): return HeartbeatResponse(errorCode: code.rawValue)
        case .failure(let refusal): return HeartbeatResponse(errorCode: refusal.errorCode.rawValue)
        }
    }
}

/// LeaveGroup (key 13): v0-2 name one member (its error is reported at the top level, as
/// Kafka does), v3+ a batch with an error per member.
struct LeaveGroupHandler: KafkaAPIHandler {
    typealias Request = LeaveGroupRequest
    static let versions: ClosedRange<Int16> = 0...3
    let groups: GroupCoordinatorService

    static func input(_ request: LeaveGroupRequest, _ context: RequestContext) -> LeaveGroupInput {
        let members = context.version >= 3
            ? request.members.map { LeaveGroupMember(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID) }
            : [LeaveGroupMember(memberID: request.memberID)]
        return LeaveGroupInput(groupID: request.groupID, members: members)
    }

    static func response(_ outcome: LeaveGroupOutcome, version: Int16) -> LeaveGroupResponse {
        if version >= 3 {
            return LeaveGroupResponse(errorCode: outcome.errorCode.rawValue, members: outcome.members.map {
                .init(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, errorCode: $0.errorCode.rawValue)
            })
        }
        let code = outcome.errorCode != .none ? outcome.errorCode : (outcome.members.first?.errorCode ?? .none)
        return LeaveGroupResponse(errorCode: code.rawValue)
    }

    func handle(_ request: LeaveGroupRequest, _ context: RequestContext) async -> LeaveGroupResponse? {
        switch await groups.leaveGroup(Self.input(request, context)) {
        case .success(let outcome): return Self.response(outcome, version: context.version)
        case .failure(let refusal): return LeaveGroupResponse(errorCode: refusal.errorCode.rawValue)
        }
    }
}
