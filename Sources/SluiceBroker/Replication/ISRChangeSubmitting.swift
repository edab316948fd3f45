import SluiceCore
import SluiceReplication

/// How a partition leader hands an ISR change to the controller (Kafka's AlterPartition).
/// The answer is the controller's decision: `.accepted`, `.rejected` when it refused (or was
/// never reached), or `.outcomeUnknown` when a call may have reached it but no answer came:
/// the leader then keeps counting the change towards the HW and sends it again.
protocol ISRChangeSubmitting: Sendable {
    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer
    /// A leader whose log holds a damaged batch asks the controller to give its leadership to
    /// another in-sync replica and take it out of the ISR (HandOffLeadership). True once the
    /// controller has done so; the new leadership then arrives with the metadata.
    func handOffLeadership(_ handOff: LeadershipHandOff, for partition: TopicPartition) async -> Bool
}

/// What a leader with a damaged log tells the controller: the leadership it gives up, and why.
struct LeadershipHandOff: Sendable, Equatable {
    var leaderEpoch: LeaderEpoch
    var partitionEpoch: PartitionEpoch
    var reason: String
}
