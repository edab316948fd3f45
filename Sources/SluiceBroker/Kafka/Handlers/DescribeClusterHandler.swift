import SluiceCore
import SluiceWire

/// DescribeCluster (key 60, flexible from v0; KIP-700): the brokers, cluster id and controller
/// of this node's metadata view, the same ones Metadata reports (unfenced brokers only), so
/// every node answers. Sluice has no authorizer yet, so the cluster's authorized operations
/// stay "not requested" (`Int32.min`) even when asked for. v1's endpoint type 2 (controllers)
/// is refused with UNSUPPORTED_ENDPOINT_TYPE: Sluice's controllers are its brokers.
struct DescribeClusterHandler: KafkaAPIHandler {
    typealias Request = DescribeClusterRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    /// KIP-919's endpoint type for brokers, the only one served.
    static let brokersEndpointType: Int8 = 1

    func handle(_ request: DescribeClusterRequest, _ context: RequestContext) async -> DescribeClusterResponse? {
        guard request.endpointType == Self.brokersEndpointType else {
            return DescribeClusterResponse(
                errorCode: KafkaErrorCode.unsupportedEndpointType.rawValue,
                errorMessage: "only broker endpoints (1) are described", endpointType: request.endpointType,
                clusterID: MetadataHandler.clusterID)
        }
        let snapshot = services.metadata.current
        let brokers = snapshot.image.brokers.values.filter { !$0.isFenced }.sorted { $0.nodeID < $1.nodeID }.map {
            DescribeClusterResponse.DescribeClusterBroker(
                brokerID: $0.nodeID, host: $0.clientEndpoint.host, port: Int32($0.clientEndpoint.port))
        }
        return DescribeClusterResponse(
            clusterID: MetadataHandler.clusterID, controllerID: snapshot.controllerID ?? .none, brokers: brokers)
    }
}
