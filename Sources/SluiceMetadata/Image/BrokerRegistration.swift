import SluiceCore
import SluiceWire

/// A broker as the metadata log knows it.
public struct BrokerRegistration: Hashable, Sendable {
    public var nodeID: NodeID
    public var incarnation: KafkaUUID
    public var clientEndpoint: BrokerEndpoint
    public var interNodeEndpoint: BrokerEndpoint
    /// A fenced broker leads no partition and is never added to an ISR.
    public var isFenced: Bool

    public init(
        nodeID: NodeID, incarnation: KafkaUUID, clientEndpoint: BrokerEndpoint,
        interNodeEndpoint: BrokerEndpoint, isFenced: Bool
    ) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.clientEndpoint = clientEndpoint
        self.interNodeEndpoint = interNodeEndpoint
        self.isFenced = isFenced
    }
}
