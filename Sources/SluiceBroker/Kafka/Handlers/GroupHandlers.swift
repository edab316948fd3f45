import SluiceWire

/// FindCoordinator (key 10). Consumer groups are coordinated through the metadata log in the
/// next issue; until then the answer is COORDINATOR_NOT_AVAILABLE, which clients treat as
/// "retry later", never a fake coordinator.
struct FindCoordinatorHandler: KafkaAPIHandler {
    typealias Request = FindCoordinatorRequest
    static let versions: ClosedRange<Int16> = 0...2
    func handle(_ request: FindCoordinatorRequest, _ context: RequestContext) async -> FindCoordinatorResponse? {
        FindCoordinatorResponse(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue,
                                errorMessage: "consumer groups are not available yet", nodeID: .none, host: "", port: -1)
    }
}
