import SluiceCore

/// What one local replica shows on `/metrics` (docs/METRICS.md), read when the node is scraped.
struct ReplicaMetricsSample: Sendable {
    var partition: TopicPartition
    var logStartOffset: Offset
    var logEndOffset: Offset
    var highWatermark: Offset
    var sizeInBytes: Int64
    var isLeader: Bool
    /// The ISR as the newest image this replica was given names it.
    var isrCount: Int
    var replicaCount: Int
    /// Since this replica was opened (a restart or a move starts them at 0, which Prometheus'
    /// `rate()` treats as a counter reset).
    var appended: AppendTotals
    /// While leading: how many offsets each follower's log end is behind this leader's
    /// (a follower that has not fetched in this leader epoch counts from 0).
    var followerLag: [NodeID: Int64]

    /// Kafka's UnderReplicatedPartitions: reported by the leader only, so a partition is
    /// counted once in the cluster.
    var isUnderReplicated: Bool { isLeader && isrCount < replicaCount }
}

/// Records and bytes this replica appended as leader (`sluice_partition_appended_*_total`).
/// Kept on the actor, so counting costs two additions on the append path and no lock.
struct AppendTotals: Sendable, Hashable {
    var records: Int64 = 0
    var bytes: Int64 = 0
}

extension PartitionReplica {
    func metricsSample() async -> ReplicaMetricsSample {
        let end = await log.logEndOffset
        var lag: [NodeID: Int64] = [:]
        if let leader {
            for (id, progress) in leader.followers {
                let followerEnd = progress.logEndOffset == .unknown ? Offset.zero : progress.logEndOffset
                lag[id] = max(0, followerEnd.distance(to: leader.logEndOffset))
            }
        }
        return ReplicaMetricsSample(
            partition: partition, logStartOffset: await log.logStartOffset, logEndOffset: end,
            highWatermark: await log.highWatermark, sizeInBytes: await log.sizeInBytes, isLeader: leader != nil,
            isrCount: leader?.isr.count ?? state.isr.count, replicaCount: state.replicas.count, appended: appended,
            followerLag: lag)
    }

    /// Counts a change of the ISR this leader works with (`sluice_isr_shrinks_total`,
    /// `sluice_isr_expands_total`), whichever way it learned it: its own proposal's answer or
    /// the controller's change in the image. Each change is seen once: an image repeating an
    /// answered change finds the ISR already equal.
    func countISRChange(from old: [NodeID], to new: [NodeID]) {
        guard old != new, let metrics = context.metrics else { return }
        if !Set(new).isSuperset(of: old) { metrics.isrShrinks.increment() }
        if !Set(old).isSuperset(of: new) { metrics.isrExpands.increment() }
    }

    /// Counts an append as leader (not a duplicate retry, which stores nothing).
    func countAppend(records: Int, bytes: Int) {
        appended.records += Int64(records)
        appended.bytes += Int64(bytes)
    }
}
