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
