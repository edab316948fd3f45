import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceStorage

/// Bit rot: a flipped bit in a closed segment of one replica, and what the node does about it,
/// as `PartitionReplica+Damage` does it: reads refuse the damaged batch, a replica in the ISR
/// reports itself to the controller (which takes it out, electing another leader if it led),
/// and once outside the ISR it cuts its log back to the damage and fetches it again. A scrub
/// on every broker tick reads each log a slice at a time, so damage nobody reads is found.
/// The checker sees every batch served and every new leader's log, so a damaged batch served,
/// or committed batches lost with the cut, are violations; convergence waits for every damage
/// to be cut away.
extension ReplicationSimulation {
    /// Flips one bit of a batch's CRC-covered bytes in a closed segment of a random partition of
    /// broker `b`, where no replica of that partition is damaged yet (so a good copy exists).
    /// Not the 16 bytes before the CRC: a flipped leader epoch is covered by no check
    /// (docs/RELIABILITY.md), and the offset and length fields are covered by other tests.
    mutating func flipBit(_ b: Int) {
        let p = Int(random.next(below: UInt64(options.partitionCount)))
        guard brokers.allSatisfy({ $0.replicas[p].injectedDamage == nil }) else { return }
        let log = brokers[b].replicas[p].log
        let bases = log.segmentBaseOffsets
        guard bases.count >= 2 else { return }
        let base = bases[Int(random.next(below: UInt64(bases.count - 1)))]
        let digits = String(base.rawValue)
        let path = joinPath(log.directory, String(repeating: "0", count: 20 - digits.count) + digits + ".log")
        let fileSystem = brokers[b].fileSystem
        guard let file = try? fileSystem.open(path, create: false), let bytes = try? file.readAll() else { return }
        file.close()
        let batches = Self.batchExtents(bytes)
        guard !batches.isEmpty else { return }
        let (start, total) = batches[Int(random.next(below: UInt64(batches.count)))]
        let at = start + RecordBatch.crcCoverageStart + Int(random.next(below: UInt64(total - RecordBatch.crcCoverageStart)))
        let offset = Offset(bytes[start..<(start + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) })
        fileSystem.flipByte(path, at: at)
        brokers[b].replicas[p].injectedDamage = offset
        bitFlips += 1
        note("bit rot: broker \(brokers[b].id) p\(p), the batch at offset \(offset) in segment \(base) (byte \(at))")
    }

    /// (start, size) of each whole batch in a `.log` file's bytes.
    static func batchExtents(_ bytes: [UInt8]) -> [(Int, Int)] {
        var extents: [(Int, Int)] = []
        var position = 0
        while position + RecordBatch.headerBytes <= bytes.count {
            let length = bytes[(position + 8)..<(position + 12)].reduce(0) { $0 << 8 | Int($1) }
            let total = RecordBatch.lengthPrefixBytes + length
            guard total >= RecordBatch.headerBytes, position + total <= bytes.count else { break }
            extents.append((position, total))
            position += total
        }
        return extents
    }

    /// A read of broker `b`'s log of `p` met damage.
    mutating func damageFound(_ damage: LogCorruption, _ b: Int, _ p: Int) {
        if brokers[b].replicas[p].damage.map({ damage.offset < $0.offset }) ?? true {
            brokers[b].replicas[p].damage = damage
            note("broker \(brokers[b].id) p\(p) finds the batch at \(damage.offset) damaged: \(damage.reason)")
        }
        reportDamage(b, p)
    }

    /// While in the ISR (as its image says), a damaged replica asks the controller to take it
    /// out, at most once a second; the only ISR member does not ask.
    mutating func reportDamage(_ b: Int, _ p: Int) {
        let id = brokers[b].id
        guard let damage = brokers[b].replicas[p].damage, let state = brokers[b].image.partition(topicPartition(p)),
            state.isr.contains(id), state.isr.count > 1
        else { return }
        if let last = brokers[b].replicas[p].damageReport, last.partitionEpoch == state.partitionEpoch,
            now - last.atMs < 1_000
        {
            return
        }
        brokers[b].replicas[p].damageReport = (state.partitionEpoch, now)
        let report = DamagedReplicaReport(
            topic: Self.topic, partition: PartitionIndex(Int32(p)), replicaID: id, replicaIncarnation: brokers[b].incarnation,
            leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, reason: "damaged at \(damage.offset)")
        send(.replicaDamaged(partition: p, report), from: id, to: Self.controllerID)
    }

    mutating func controllerReplicaDamaged(_ p: Int, _ report: DamagedReplicaReport) {
        let output = controller.replicaDamaged(report)
        switch output.result {
        case .accepted(let state):
            if !output.records.isEmpty { isrChanges += 1 }
            note("controller: p\(p) broker \(report.replicaID) is damaged; leader \(state.leader), ISR \(state.isr)")
        case .rejected(let code, let why):
            note("controller refuses ReplicaDamaged p\(p) from \(report.replicaID): \(code) \(why)")
        }
        adopt(output.records)
    }

    /// About to follow under `state`: a damaged replica outside the ISR cuts its log back to
    /// the damage (by position, as `PartitionLog.truncate(toDamage:)` does), inside it reports.
    /// The cut is not put to the checker's truncation rule: it removes committed batches by
    /// design, from a replica the ISR no longer counts on; a new leader without them, or a
    /// consumer served something else, is still a violation.
    mutating func cutBackToDamage(_ b: Int, _ p: Int, _ state: PartitionState) {
        guard let damage = brokers[b].replicas[p].damage else { return }
        guard !state.isr.contains(brokers[b].id) else { return reportDamage(b, p) }
        let replica = brokers[b].replicas[p]
        let end: Offset
        do {
            end = try replica.log.truncate(toDamage: damage, nowMs: now)
        } catch {
            return fail("broker \(brokers[b].id) p\(p) cannot cut its log back to the damage at \(damage.offset): \(error)")
        }
        let keep = replica.batches.firstIndex { $0.lastOffset >= end } ?? replica.batches.count
        note("broker \(brokers[b].id) cuts p\(p) back to the damaged batch at \(damage.offset) (log end \(end)), removing \(replica.batches.count - keep) batches")
        brokers[b].replicas[p].batches.removeSubrange(keep...)
        brokers[b].replicas[p].checkedBatches = min(brokers[b].replicas[p].checkedBatches, keep)
        brokers[b].replicas[p].damage = nil
        brokers[b].replicas[p].damageReport = nil
        if let damaged = replica.injectedDamage, damaged >= end { brokers[b].replicas[p].injectedDamage = nil }
        truncations += 1
        healedDamages += 1
    }

    /// One slice of the scrub (`PartitionReplica.scrub`): a read at the cursor, wrapping at the
    /// log end. No randomness, so runs without bit flips replay as before.
    mutating func scrub(_ b: Int, _ p: Int) {
        guard brokers[b].replicas[p].damage == nil else { return }
        let log = brokers[b].replicas[p].log
        var cursor = brokers[b].replicas[p].scrubCursor
        if cursor < log.logStartOffset || cursor >= log.logEndOffset { cursor = log.logStartOffset }
        guard cursor < log.logEndOffset else { return }
        do {
            let batches = Self.batchIDs(try log.read(from: cursor, maxBytes: Self.fetchBytesMax))
            brokers[b].replicas[p].scrubCursor = batches.last.map { $0.lastOffset.advanced(by: 1) } ?? log.logEndOffset
        } catch .corruptLog(let damage) {
            damageFound(damage, b, p)
        } catch {
            fail("broker \(brokers[b].id) p\(p) cannot scrub its log at \(cursor): \(error)")
        }
    }
}
