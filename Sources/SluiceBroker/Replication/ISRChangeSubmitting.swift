import SluiceCore
import SluiceReplication

/// How a partition leader hands an ISR change to the controller (Kafka's AlterPartition).
/// The answer is the controller's decision: `.accepted`, `.rejected` when it refused (or was
/// never reached), or `.outcomeUnknown` when a call may have reached it but no answer came:
/// the leader then keeps counting the change towards the HW and sends it again.
protocol ISRChangeSubmitting: Sendable {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer
    /// A replica whose log holds a damaged batch asks the controller to take it out of the
    /// ISR, and to hand its leadership to another in-sync replica if it leads (ReplicaDamaged).
    /// True once the controller has done so; the change then arrives with the metadata.
    func reportDamage(_ damage: DamageReport, for partition: TopicPartition) async -> Bool
}

/// What a replica with a damaged log tells the controller: the epochs its view is based on, and
/// what is damaged.
struct DamageReport: Sendable, Equatable {
    var leaderEpoch: LeaderEpoch
    var partitionEpoch: PartitionEpoch
    var reason: String
}
