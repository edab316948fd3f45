import SluiceCore
import SluiceReplication

/// How a partition leader hands an ISR change to the controller (Kafka's AlterPartition).
/// The answer is the controller's decision, or `.rejected` when it refused or could not be
/// reached after the caller's retries; the leader proposes again on a later fetch or tick.
protocol ISRChangeSubmitting: Sendable {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer
}
