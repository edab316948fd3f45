import NIOCore
import SluiceCore
import SluiceRecords
import SluiceReplication
import SluiceStorage

/// A damaged batch in this replica's log (bit rot in a closed segment): the log refuses to
/// serve it (KAFKA_STORAGE_ERROR to whoever asked). A leader hands its leadership to a healthy
/// in-sync replica through the controller and leaves the ISR; as a follower it then cuts its log
/// back to the damaged batch and fetches it, and everything after it, from the new leader, and
/// is added to the ISR again once caught up. A sole copy (RF 1, or no other live ISR member)
/// keeps leading, and reads of the damaged batch keep failing until an operator restores it.
///
/// Clients' reads find damage on a leader; the scrub (`scrub(bytesMax:)`) reads the rest, so a
/// follower finds damage in segments nobody reads and heals at its next fetch answer.
extension PartitionReplica {
    /// One read of a scrub pass; the manager gives each replica at least this much a pass.
    static let scrubReadBytesMax = 256 * 1024

    /// Reads (and so verifies) up to `bytesMax` bytes of the log from where the last pass
    /// stopped, wrapping to the log start at the end. A damaged batch it meets is handled as any
    /// read's (`noteReadFailure`); the cursor stays there until the damage is cut away.
    func scrub(bytesMax: Int) async {
        guard damage == nil else { return }
        let start = await log.logStartOffset
        let end = await log.logEndOffset
        var cursor = scrubCursor < start || scrubCursor >= end ? start : scrubCursor
        var scanned = 0
        while scanned < bytesMax, cursor < end {
            let bytes: ByteBuffer
            do throws(LogError) {
                bytes = try await log.read(from: cursor, maxBytes: min(Self.scrubReadBytesMax, bytesMax - scanned))
            } catch {
                noteReadFailure(error)
                break
            }
            guard let next = Self.nextOffset(after: bytes) else { break }
            cursor = next
            scanned += bytes.readableBytes
        }
        scrubCursor = cursor
    }

    /// The offset after the last whole batch of `bytes` (which the log validated as it read).
    static func nextOffset(after bytes: ByteBuffer) -> Offset? {
        var splitter = RecordBatchSplitter(bytes, trailingBytes: .allowPartialTrailingBatch, verifyCRC: false)
        var last: RecordBatch?
        while let batch = try? splitter.next() { last = batch }
        return last?.nextOffset
    }

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

    /// A replica that found damage while it led (or its scrub found while it follows) cuts its
    /// log back to the damaged batch as soon as it follows (`becomeFollower`, or the next fetch
    /// answer, which restarts the epoch handshake from the new log end), so its fetches bring
    /// that batch and everything after it again.
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
