import SluiceCore
import SluiceMetadata
import SluiceWire

// The one place the AlterPartition RPC (`broker.wire`, key 10103) meets the controller's
// types: the sender encodes with these, the controller's handler decodes with them.

extension SluiceWire.AlterPartitionRequest {
    init(_ request: SluiceMetadata.AlterPartitionRequest) {
        self.init(
            topic: request.topic.rawValue, partition: request.partition, leaderID: request.leaderID,
            leaderIncarnation: request.leaderIncarnation, leaderEpoch: request.leaderEpoch,
            partitionEpoch: request.partitionEpoch, newIsr: request.newISR)
    }

    /// The controller's request, or `nil` when the topic name is not a valid one.
    var decision: SluiceMetadata.AlterPartitionRequest? {
        guard let name = TopicName(rawValue: topic) else { return nil }
        return SluiceMetadata.AlterPartitionRequest(
            topic: name, partition: partition, leaderID: leaderID, leaderIncarnation: leaderIncarnation,
            leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, newISR: newIsr)
    }
}

extension AlterPartitionResponse {
    /// The answer to send; a `nil` result means this node is not the controller.
    init(_ result: AlterPartitionResult?, nodeID: NodeID) {
        switch result {
        case .accepted(let state):
            self.init(
                errorCode: KafkaErrorCode.none.rawValue, leaderID: state.leader, leaderEpoch: state.leaderEpoch,
                partitionEpoch: state.partitionEpoch, isr: state.isr)
        case .rejected(let code, let message):
            self.init(errorCode: code.rawValue, errorMessage: message)
        case nil:
            self.init(errorCode: KafkaErrorCode.notController.rawValue, errorMessage: "node \(nodeID) is not the controller")
        }
    }
}
