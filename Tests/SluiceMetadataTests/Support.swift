import NIOCore
import SluiceCore
import SluiceWire
@testable import SluiceMetadata

/// Shared builders for the metadata tests.
enum Fixture {
    static func incarnation(_ n: UInt64) -> KafkaUUID { KafkaUUID(high: 0xABCD, low: n) }

    static func heartbeat(_ id: Int32, incarnation: UInt64 = 1) -> BrokerHeartbeat {
        BrokerHeartbeat(
            nodeID: NodeID(id), incarnation: Self.incarnation(incarnation),
            clientEndpoint: BrokerEndpoint(host: "127.0.0.\(id)", port: 9092),
            interNodeEndpoint: BrokerEndpoint(host: "127.0.0.\(id)", port: 9093))
    }

    static func topic(_ name: String) -> TopicName { try! TopicName(validating: name) }

    /// A controller over `brokers` registered and unfenced brokers (ids 1...n), at time 0.
    static func controller(brokers: Int32, options: ControllerOptions = ControllerOptions()) -> Controller {
        var controller = Controller(image: .empty, options: options, nowMs: 0, seed: 42)
        for id in 1...brokers {
            _ = controller.brokerHeartbeat(heartbeat(id), nowMs: 0)  // registers, fenced
            _ = controller.brokerHeartbeat(heartbeat(id), nowMs: 0)  // unfences
        }
        return controller
    }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
}

extension MetadataImage {
    /// Applies records the way a node applies a committed entry; fails the test on a skip.
    mutating func applyAll(_ records: [MetadataRecord]) throws {
        for record in records { try apply(record) }
    }
}
