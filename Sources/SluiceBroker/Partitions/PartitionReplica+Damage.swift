import SluiceCore
import SluiceReplication
import SluiceStorage

/// A damaged batch in this replica's log (bit rot in a closed segment): the log refuses to
/// serve it (KAFKA_STORAGE_ERROR to whoever asked). A leader hands its leadership to a healthy
/// in-sync replica through the controller and leaves the ISR; as a follower it then cuts its log
/// back to the damaged batch and fetches it, and everything after it, from the new leader, and
/// is added to the ISR again once caught up. A sole copy (RF 1, or no other live ISR member)
/// keeps leading, and reads of the damaged batch keep failing until an operator restores it.
extension PartitionReplica {
    /// Looks at every error a read of the log returned: the first sighting of a damaged batch
    /// (or of one below the damage already known) is logged, and a leader hands off.
    func noteReadFailure(_ error: LogError) {
        guard case .corruptLog(let found) = error else { return }
        if damage.map({ found.offset < $0.offset }) ?? true {
            damage = found
            logger.error("\(partition): the batch at offset \(found.offset) in \(found.path) (byte \(found.position)) is damaged and not served (KAFKA_STORAGE_ERROR): \(found.reason)")
        }
        guard let current = leader, handOffEpoch != current.leaderEpoch else { return }
        handOffLeadership(current, damage: damage ?? found)
    }

    private func handOffLeadership(_ current: LeaderState, damage: LogCorruption) {
        let others = current.isr.filter { $0 != nodeID }
        guard !others.isEmpty else {
            if !reportedSoleCopy {
                reportedSoleCopy = true
                logger.error("\(partition): no other in-sync replica (ISR \(current.isr)) has a good copy of offset \(damage.offset); reads of it fail until an operator restores the segment \(damage.path)")
            }
            return
        }
        let epoch = current.leaderEpoch
        handOffEpoch = epoch
        logger.error("\(partition): asking the controller to move leadership (epoch \(epoch)) to one of \(others) and take this damaged replica out of the ISR")
        let handOff = LeadershipHandOff(leaderEpoch: epoch, partitionEpoch: state.partitionEpoch,
                                        reason: "its log is damaged at offset \(damage.offset) (\(damage.path)): \(damage.reason)")
        let submitter = context.isrChanges
        let partition = partition
        // Like an ISR proposal, answered off the actor so reads and appends go on meanwhile.
        Task {
            let moved = await submitter.handOffLeadership(handOff, for: partition)
            self.handOffAnswered(moved: moved, epoch: epoch)
        }
    }

    /// A refused hand-off (another ISR member is not alive yet) may be asked again by the next
    /// read that finds the damage; an accepted one is followed by the metadata.
    func handOffAnswered(moved: Bool, epoch: LeaderEpoch) {
        if !moved && handOffEpoch == epoch { handOffEpoch = nil }
    }

    /// A replica that found damage while it led cuts its log back to the damaged batch as soon
    /// as it follows, so its fetches bring that batch and everything after it again.
    func cutBackToDamage() async {
        guard let found = damage else { return }
        handOffEpoch = nil
        reportedSoleCopy = false
        do throws(LogError) {
            let before = await log.logEndOffset
            let end = try await log.truncate(toDamage: found)
            damage = nil
            logger.error("\(partition): cut the log back from \(before) to \(end) at the damaged batch (offset \(found.offset), \(found.path)) to fetch it again from \(state.leader)")
        } catch {
            logger.error("\(partition): cutting the log back to the damaged batch at offset \(found.offset) in \(found.path) failed: \(error)")
        }
    }
}
