import Logging
import SluiceCore
import SluiceWire

/// One Kafka API. The versions it serves are declared on the type and are exactly what
/// ApiVersions advertises (`KafkaAPIRegistry`).
protocol KafkaAPIHandler: Sendable {
    associatedtype Request: APIRequest
    /// Versions this handler decodes and answers. Versions inside the range it cannot serve in
    /// full (old message formats) get a per-item error in the response, never silence.
    static var versions: ClosedRange<Int16> { get }
    /// The response, or nil when the request asks for none (Produce with acks=0).
    func handle(_ request: Request, _ context: RequestContext) async -> Request.Response?
}

/// What a handler knows about the request beyond its body.
struct RequestContext: Sendable {
    var header: RequestHeader
    var version: Int16 { header.apiVersion }
    var clientID: String? { header.clientID }
    var logger: Logger
}

/// Everything the handlers share: the node's identity and settings, its metadata, its
/// replicas, and the controller.
struct BrokerServices: Sendable {
    var nodeID: NodeID
    var config: NodeConfig
    var metadata: MetadataView
    var partitions: PartitionManager
    var cluster: any ClusterControl
}
