import SluiceCore

/// The replication simulation's safety checks. Each returns a violation or nil; the
/// simulation stops at the first one and reports it with the seed, the time and the trace.
///
/// The checker keeps, per partition, the **committed log**: the batches some replica held
/// below its high watermark, in offset order from 0. Every replica's batches below its own HW
/// must equal it (replicas agree below their HW); a new leader must hold all of it (nothing
/// acknowledged or served is lost); a follower's truncation must not remove any of it; what
/// producers were acknowledged and consumers were served must be in it.
///
/// What the cluster promises, and so what excuses a loss: with `flush = none` an acknowledged
/// batch survives as long as fewer than min.insync.replicas replicas of its partition lost
/// unsynced bytes in crashes since it was committed; with `flush = always` nothing excuses it.
struct ReplicationSimulationChecker {
    struct Committed {
        var batch: BatchID
        var recordedAtMs: Int64
    }

    let minInsyncReplicas: Int
    let excusesLossyCrashes: Bool
    /// Per partition. Invariant: contiguous from offset 0.
    var committed: [[Committed]]
    /// Per partition: which replica lost unsynced bytes of its log in a crash, and when.
    var lossyCrashes: [[(node: NodeID, atMs: Int64)]]
    /// Per partition: the one broker that appended as leader in each leader epoch.
    var appenderOfEpoch: [[LeaderEpoch: NodeID]]
    var acknowledged: [[Committed]]
    var served: [[Committed]]

    init(partitionCount: Int, minInsyncReplicas: Int, excusesLossyCrashes: Bool) {
        self.minInsyncReplicas = minInsyncReplicas
        self.excusesLossyCrashes = excusesLossyCrashes
        committed = Array(repeating: [], count: partitionCount)
        lossyCrashes = Array(repeating: [], count: partitionCount)
        appenderOfEpoch = Array(repeating: [:], count: partitionCount)
        acknowledged = Array(repeating: [], count: partitionCount)
        served = Array(repeating: [], count: partitionCount)
    }

    var acknowledgedCount: Int { acknowledged.reduce(0) { $0 + $1.count } }
    var servedCount: Int { served.reduce(0) { $0 + $1.count } }

    /// Whether losing something of partition `p` committed at `sinceMs` is within the promise.
    func excused(_ p: Int, since sinceMs: Int64) -> Bool {
        guard excusesLossyCrashes else { return false }
        let nodes = Set(lossyCrashes[p].filter { $0.atMs >= sinceMs }.map(\.node))
        return nodes.count >= minInsyncReplicas
    }

    mutating func lossyCrash(_ p: Int, _ node: NodeID, nowMs: Int64) {
        lossyCrashes[p].append((node, nowMs))
    }

    /// A replica's batches from `checked` on, below `highWatermark`, against the committed log;
    /// those past its end extend it.
    mutating func coverBelowHighWatermark(_ p: Int, _ node: NodeID, batches: [BatchID], highWatermark: Offset,
                                          checked: inout Int, nowMs: Int64) -> String? {
        while checked < batches.count, batches[checked].lastOffset < highWatermark {
            let i = checked
            let batch = batches[i]
            if i < committed[p].count {
                let entry = committed[p][i]
                if entry.batch != batch {
                    guard excused(p, since: entry.recordedAtMs) else {
                        return "p\(p): broker \(node) holds \(batch) below its HW \(highWatermark) where the committed log has \(entry.batch)"
                    }
                    committed[p].removeSubrange(i...)
                    committed[p].append(Committed(batch: batch, recordedAtMs: nowMs))
                }
            } else {
                guard committed[p].last.map({ $0.batch.lastOffset.advanced(by: 1) }) ?? .zero == batch.baseOffset else {
                    return "p\(p): broker \(node) holds \(batch) below its HW, not contiguous with the committed log"
                }
                committed[p].append(Committed(batch: batch, recordedAtMs: nowMs))
            }
            checked += 1
        }
        return nil
    }

    /// A broker takes leadership: its log must hold the whole committed log, except what an
    /// excused loss took (the committed log then continues from the new leader's).
    mutating func leaderElected(_ p: Int, _ node: NodeID, epoch: LeaderEpoch, batches: [BatchID], nowMs: Int64) -> String? {
        guard let firstMissing = committed[p].indices.first(where: { $0 >= batches.count || batches[$0] != committed[p][$0].batch })
        else { return nil }
        for entry in committed[p][firstMissing...] where !excused(p, since: entry.recordedAtMs) {
            return "p\(p): broker \(node) leads epoch \(epoch) without the committed batch \(entry.batch) (its log ends at "
                + "\(batches.last.map { "\($0.lastOffset.advanced(by: 1))" } ?? "0"))"
        }
        committed[p].removeSubrange(firstMissing...)
        return nil
    }

    /// At most one replica appends as leader in each leader epoch.
    mutating func appendedAsLeader(_ p: Int, _ node: NodeID, epoch: LeaderEpoch) -> String? {
        if let other = appenderOfEpoch[p][epoch], other != node {
            return "p\(p): brokers \(other) and \(node) both appended as leader in epoch \(epoch)"
        }
        appenderOfEpoch[p][epoch] = node
        return nil
    }

    /// A follower truncation removes `removed` (its batches from index `firstIndex` on): none
    /// may be committed.
    func truncated(_ p: Int, _ node: NodeID, removed: [BatchID], firstIndex: Int, nowMs: Int64) -> String? {
        for (k, batch) in removed.enumerated() {
            let i = firstIndex + k
            guard i < committed[p].count else { break }
            if committed[p][i].batch == batch && !excused(p, since: committed[p][i].recordedAtMs) {
                return "p\(p): broker \(node) truncates the committed batch \(batch)"
            }
        }
        return nil
    }

    mutating func acknowledged(_ p: Int, _ batch: BatchID, nowMs: Int64) {
        acknowledged[p].append(Committed(batch: batch, recordedAtMs: nowMs))
    }

    /// A consumer was served `batch`: it must be the committed batch at its offset.
    mutating func served(_ p: Int, _ batch: BatchID, nowMs: Int64) -> String? {
        served[p].append(Committed(batch: batch, recordedAtMs: nowMs))
        let log = committed[p]
        guard let entry = Self.find(batch.baseOffset, count: log.count, base: { log[$0].batch.baseOffset }).map({ log[$0] }) else {
            return nil  // beyond the committed log only after an excused loss cut it back
        }
        if entry.batch != batch && !excused(p, since: entry.recordedAtMs) {
            return "p\(p): a consumer was served \(batch) where the committed log has \(entry.batch)"
        }
        return nil
    }

    /// After convergence: every acknowledged and served batch is in the leader's log.
    func finalCheck(_ p: Int, batches: [BatchID], nowMs: Int64) -> String? {
        for (what, list) in [("acknowledged", acknowledged[p]), ("served", served[p])] {
            for entry in list where !excused(p, since: entry.recordedAtMs) {
                guard let i = Self.find(entry.batch.baseOffset, count: batches.count, base: { batches[$0].baseOffset }),
                    batches[i] == entry.batch
                else {
                    return "p\(p): the \(what) batch \(entry.batch) is not in the converged log"
                }
            }
        }
        return nil
    }

    /// The index of the batch starting at `offset` in a list sorted by offset, by binary search.
    static func find(_ offset: Offset, count: Int, base: (Int) -> Offset) -> Int? {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if base(mid) < offset { low = mid + 1 } else { high = mid }
        }
        return low < count && base(low) == offset ? low : nil
    }
}
