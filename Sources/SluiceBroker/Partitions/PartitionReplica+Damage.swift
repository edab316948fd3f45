import NIOCore
import SluiceCore
import SluiceRecords
import SluiceReplication
import SluiceStorage

/// A damaged batch in this replica's log (bit rot in a closed segment): the log refuses to
/// serve it (KAFKA_STORAGE_ERROR to whoever asked). While the replica is in the ISR it asks the
/// controller to take it out (ReplicaDamaged): it lacks records the ISR promises to hold, so it
/// must not be elected or counted for `acks=all`. If it leads, the controller hands leadership to
/// a healthy ISR member in the same change. Once outside the ISR, as a follower, it cuts its log
/// back to the damaged batch and fetches it and everything after it again; its leader adds it
/// back when it has caught up. A sole copy (RF 1, or no other live ISR member) keeps leading,
/// and reads of the damaged batch keep failing until an operator restores it.
///
/// Clients' reads find damage on a leader; the scrub (`scrub(bytesMax:)`) reads the rest, so a
/// follower finds damage in segments nobody reads.
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
    /// (or of one below the damage already known) is logged, and the controller is told.
    func noteReadFailure(_ error: LogError) {
        guard case .corruptLog(let found) = error else { return }
        if damage.map({ found.offset < $0.offset }) ?? true {
            damage = found
            logger.error("\(partition): the batch at offset \(found.offset) in \(found.path) (byte \(found.position)) is damaged and not served (KAFKA_STORAGE_ERROR): \(found.reason)")
        }
        reportDamageWhileInISR()
    }

    /// How long a refused or lost report waits before the next read may send it again.
    static let damageReportIntervalMs: Int64 = 1_000

    /// While this damaged replica is in the ISR, asks the controller to take it out (and to move
    /// leadership, if it leads): one report at a time, again only after a refusal and a pause.
    func reportDamageWhileInISR() {
        guard let damage, state.isr.contains(nodeID) else { return }
        let now = context.nowMs()
        if let last = damageReport, last.partitionEpoch == state.partitionEpoch,
           last.inFlight || now - last.atMs < Self.damageReportIntervalMs {
            return
        }
        let others = state.isr.filter { $0 != nodeID }
        if others.isEmpty {
            if !reportedSoleCopy {
                reportedSoleCopy = true
                logger.error("\(partition): no other in-sync replica (ISR \(state.isr)) has a good copy of offset \(damage.offset); reads of it fail until an operator restores the segment \(damage.path)")
            }
            return
        }
        let epoch = state.partitionEpoch
        damageReport = (epoch, now, true)
        let what = leader != nil ? "move leadership to one of \(others) and take" : "take"
        logger.error("\(partition): asking the controller to \(what) this damaged replica out of the ISR \(state.isr)")
        let report = DamageReport(leaderEpoch: state.leaderEpoch, partitionEpoch: epoch,
                                  reason: "its log is damaged at offset \(damage.offset) (\(damage.path)): \(damage.reason)")
        let submitter = context.isrChanges
        let partition = partition
        // Like an ISR proposal, answered off the actor so reads and appends go on meanwhile.
        Task {
            _ = await submitter.reportDamage(report, for: partition)
            self.damageReportAnswered(partitionEpoch: epoch)
        }
    }

    /// An accepted report is followed by the metadata; a refused one (no other live ISR member
    /// to lead yet) may be sent again after `damageReportIntervalMs`.
    func damageReportAnswered(partitionEpoch: PartitionEpoch) {
        guard let last = damageReport, last.partitionEpoch == partitionEpoch else { return }
        damageReport = (partitionEpoch, context.nowMs(), false)
    }

    /// A truncation to `offset` cut the damaged batch away with everything after it; its bytes
    /// may since hold other batches, so its position must not be cut at again.
    func forgetDamage(cutAt offset: Offset) {
        guard let found = damage, offset <= found.offset else { return }
        damage = nil
        damageReport = nil
        reportedSoleCopy = false
    }

    /// A damaged replica cuts its log back to the damaged batch once it follows from outside
    /// the ISR (`becomeFollower`, or the next fetch answer, which restarts the epoch handshake
    /// from the new log end), so its fetches bring that batch and everything after it again.
    /// Inside the ISR it reports first: cutting there would leave an ISR member without records
    /// below the high watermark, which an election could then lose.
    func cutBackToDamage() async {
        guard let found = damage else { return }
        guard !state.isr.contains(nodeID) else { return reportDamageWhileInISR() }
        damageReport = nil
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
