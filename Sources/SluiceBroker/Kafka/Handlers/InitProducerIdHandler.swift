import SluiceCore
import SluiceWire

/// InitProducerId (key 22) for idempotent producers (kafka-python's default). Transactions are
/// not supported: a transactional id is refused with UNSUPPORTED_VERSION, which clients
/// report as "the broker does not support transactions".
struct InitProducerIdHandler: KafkaAPIHandler {
    typealias Request = InitProducerIdRequest
    static let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    func handle(_ request: InitProducerIdRequest, _ context: RequestContext) async -> InitProducerIdResponse? {
        if let id = request.transactionalID, !id.isEmpty {
            return InitProducerIdResponse(errorCode: KafkaErrorCode.unsupportedVersion.rawValue,
                                          producerID: .none, producerEpoch: .none)
        }
        guard let producerID = await services.cluster.allocateProducerID() else {
            return InitProducerIdResponse(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue,
                                          producerID: .none, producerEpoch: .none)
        }
        return InitProducerIdResponse(errorCode: 0, producerID: producerID, producerEpoch: 0)
    }
}
