import SluiceCore
import SluiceMetadata
import SluiceWire

// The one place the AlterPartition and ReplicaDamaged RPCs (`broker.wire`, keys 10103 and
// 10104) meet the controller's types: the sender encodes with these, the controller's handler
// decodes with them.

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

extension ReplicaDamagedRequest {
    init(_ report: DamagedReplicaReport) {
        self.init(
            topic: report.topic.rawValue, partition: report.partition, replicaID: report.replicaID,
            replicaIncarnation: report.replicaIncarnation, leaderEpoch: report.leaderEpoch,
            partitionEpoch: report.partitionEpoch, reason: report.reason)
    }

    /// The controller's report, or `nil` when the topic name is not a valid one.
    var report: DamagedReplicaReport? {
        guard let name = TopicName(rawValue: topic) else { return nil }
        return DamagedReplicaReport(
            topic: name, partition: partition, replicaID: replicaID, replicaIncarnation: replicaIncarnation,
            leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, reason: reason)
    }
}

extension ReplicaDamagedResponse {
    /// The answer to send; a `nil` result means this node is not the controller.
    init(_ result: AlterPartitionResult?, nodeID: NodeID) {
        let alter = AlterPartitionResponse(result, nodeID: nodeID)
        self.init(errorCode: alter.errorCode, errorMessage: alter.errorMessage, leaderID: alter.leaderID,
                  leaderEpoch: alter.leaderEpoch, partitionEpoch: alter.partitionEpoch, isr: alter.isr)
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
