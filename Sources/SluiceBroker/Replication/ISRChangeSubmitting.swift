import SluiceCore
import SluiceReplication

/// How a partition leader hands an ISR change to the controller (Kafka's AlterPartition).
/// The answer is the controller's decision: `.accepted`, `.rejected` when it refused (or was
/// never reached), or `.outcomeUnknown` when a call may have reached it but no answer came:
/// the leader then keeps counting the change towards the HW and sends it again.
protocol ISRChangeSubmitting: Sendable {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer
}
