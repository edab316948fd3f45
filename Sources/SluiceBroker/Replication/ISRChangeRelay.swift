import SluiceCore
import SluiceReplication
import Synchronization

/// Passes ISR changes and leadership hand-offs on to the submitter connected after construction. The node builds its
/// partitions before its controller (the controller's metadata log applies into the
/// partitions), so the partitions get this relay and the controller's sender is connected to it
/// once it exists, before any service runs.
final class ISRChangeRelay: ISRChangeSubmitting {
    private let target = Mutex<(any ISRChangeSubmitting)?>(nil)

    func connect(_ submitter: any ISRChangeSubmitting) {
        target.withLock { $0 = submitter }
    }

    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer {
        guard let submitter = target.withLock({ $0 }) else { return .rejected }
        return await submitter.submit(proposal, for: partition)
    }

    func handOffLeadership(_ handOff: LeadershipHandOff, for partition: TopicPartition) async -> Bool {
        guard let submitter = target.withLock({ $0 }) else { return false }
        return await submitter.handOffLeadership(handOff, for: partition)
    }
}
