import SluiceCore
import SluiceReplication
import Synchronization

/// Passes ISR changes and damage reports on to the submitter connected after construction. The node builds its
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

    func reportDamage(_ damage: DamageReport, for partition: TopicPartition) async -> Bool {
        guard let submitter = target.withLock({ $0 }) else { return false }
        return await submitter.reportDamage(damage, for: partition)
    }
}
