import SluiceMetadata
import SluiceWire

/// DescribeGroups (key 15): state, protocol and members of each named group, from the
/// coordinator's memory. An unknown group is "Dead" with no error, as in Kafka; a node that is
/// not the coordinator answers NOT_COORDINATOR per group.
struct DescribeGroupsHandler: KafkaAPIHandler {
    typealias Request = DescribeGroupsRequest
    static let versions: ClosedRange<Int16> = 0...4
    let groups: GroupCoordinatorService

    func handle(_ request: DescribeGroupsRequest, _ context: RequestContext) async -> DescribeGroupsResponse? {
        var described: [DescribeGroupsResponse.DescribedGroup] = []
        for groupID in request.groups {
            switch await groups.describeGroup(groupID) {
            case .failure(let refusal):
                described.append(.init(errorCode: refusal.errorCode.rawValue, groupID: groupID, groupState: "", protocolType: "",
                                       protocolData: "", members: []))
            case .success(let group):
                described.append(.init(
                    errorCode: group.errorCode.rawValue, groupID: group.groupID, groupState: group.state,
                    protocolType: group.protocolType, protocolData: group.protocolName,
                    members: group.members.map {
                        .init(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, clientID: $0.clientID,
                              clientHost: $0.clientHost, memberMetadata: $0.metadata, memberAssignment: $0.assignment)
                    }))
            }
        }
        return DescribeGroupsResponse(groups: described)
    }
}

/// ListGroups (key 16): the groups this node coordinates. Admin clients ask every broker and
/// merge the answers, so a node that is not the coordinator lists none without an error (as a
/// Kafka broker coordinating no group would); a controller still loading answers
/// COORDINATOR_LOAD_IN_PROGRESS.
struct ListGroupsHandler: KafkaAPIHandler {
    typealias Request = ListGroupsRequest
    static let versions: ClosedRange<Int16> = 0...2
    let groups: GroupCoordinatorService

    func handle(_ request: ListGroupsRequest, _ context: RequestContext) async -> ListGroupsResponse? {
        switch await groups.listGroups() {
        case .success(let listed):
            return ListGroupsResponse(errorCode: 0, groups: listed.map { .init(groupID: $0.groupID, protocolType: $0.protocolType) })
        case .failure(.loading):
            return ListGroupsResponse(errorCode: KafkaErrorCode.coordinatorLoadInProgress.rawValue, groups: [])
        case .failure(.notCoordinator):
            return ListGroupsResponse(errorCode: 0, groups: [])
        }
    }
}

/// DeleteGroups (key 42): empty groups and their offsets go through the metadata log;
/// NON_EMPTY_GROUP for a group with members, GROUP_ID_NOT_FOUND for an unknown one. v0-1
/// (v2 is flexible).
struct DeleteGroupsHandler: KafkaAPIHandler {
    typealias Request = DeleteGroupsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let groups: GroupCoordinatorService

    func handle(_ request: DeleteGroupsRequest, _ context: RequestContext) async -> DeleteGroupsResponse? {
        switch await groups.deleteGroups(request.groupsNames) {
        case .failure(let refusal):
            return DeleteGroupsResponse(results: request.groupsNames.map { .init(groupID: $0, errorCode: refusal.errorCode.rawValue) })
        case .success(let outcomes):
            return DeleteGroupsResponse(results: outcomes.map { .init(groupID: $0.groupID, errorCode: $0.errorCode.rawValue) })
        }
    }
}

/// OffsetDelete (key 47, v0 only): a group's committed offsets of the named partitions go,
/// except those of topics its members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).
struct OffsetDeleteHandler: KafkaAPIHandler {
    typealias Request = OffsetDeleteRequest
    static let versions: ClosedRange<Int16> = 0...0
    let groups: GroupCoordinatorService

    func handle(_ request: OffsetDeleteRequest, _ context: RequestContext) async -> OffsetDeleteResponse? {
        let partitions = request.topics.flatMap { t in t.partitions.map { OffsetDeletePartition(topic: t.name, partition: $0.partitionIndex) } }
        let outcome: OffsetDeleteOutcome
        switch await groups.deleteOffsets(request.groupID, partitions) {
        case .failure(let refusal): outcome = OffsetDeleteOutcome(errorCode: refusal.errorCode, partitionErrors: [])
        case .success(let answer): outcome = answer
        }
        guard outcome.errorCode == .none else { return OffsetDeleteResponse(errorCode: outcome.errorCode.rawValue) }
        var codes = outcome.partitionErrors.makeIterator()
        return OffsetDeleteResponse(errorCode: 0, topics: request.topics.map { t in
            .init(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: codes.next()!.rawValue) })
        })
    }
}
