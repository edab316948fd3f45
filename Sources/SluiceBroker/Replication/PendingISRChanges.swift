import SluiceCore
import SluiceReplication

/// TEMPORARY until AlterPartition lands: refuses every ISR change.
struct PendingISRChanges: ISRChangeSubmitting {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer { .rejected }
}
