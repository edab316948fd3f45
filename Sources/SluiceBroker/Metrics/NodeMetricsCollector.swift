import Prometheus
import SluiceCore
import SluiceMetadata

/// The Raft metadata log's position on this node, as `/metrics` shows it.
struct RaftMetricsSample: Sendable {
    var term: RaftTerm
    var raftCommitIndex: RaftIndex
    var appliedIndex: RaftIndex
    var isLeader: Bool
}

/// Renders a node's `/metrics` page (Prometheus text exposition format, docs/METRICS.md): the
/// hot-path counters and histograms of `NodeMetrics`, then the gauges derived from state,
/// computed now from the local replicas, the metadata image and the Raft driver. Nothing
/// derived is updated on the append path; a scrape walks the state once.
///
/// Label sets are bounded: per-partition series only for replicas this node hosts, per-group
/// series only on the group coordinator (the controller), consumer lag only for partitions this
/// node leads; each family is capped (`Limits`), and what a cap leaves out is counted in
/// `sluice_metrics_series_dropped{family}` so a truncated page is visible.
struct NodeMetricsCollector: Sendable {
    struct Limits: Sendable {
        /// Partitions with per-partition series; beyond it, the first in (topic, partition)
        /// order are shown.
        var partitionsMax = 5_000
        /// Consumer groups with per-group series (members, generation, state).
        var groupsMax = 1_000
        /// (group, topic, partition) lag series.
        var groupLagSeriesMax = 20_000
    }

    let nodeID: NodeID
    let metrics: NodeMetrics
    let partitions: PartitionManager
    let view: MetadataView
    let raft: (@Sendable () async -> RaftMetricsSample)?
    var limits = Limits()

    /// The whole page.
    func render() async -> String {
        let derived = PrometheusCollectorRegistry()
        let samples = await sampleReplicas()
        renderPartitions(samples, into: derived)
        let snapshot = view.current
        renderGroups(snapshot, samples: samples, into: derived)
        if let raft {
            let r = await raft()
            gauge(derived, "sluice_raft_term", "The Raft term of the metadata log this node is in.").set(Int64(r.term.rawValue))
            gauge(derived, "sluice_raft_commit_index", "The metadata log's Raft commit index as this node knows it.")
                .set(Int64(r.raftCommitIndex.rawValue))
            gauge(derived, "sluice_raft_applied_index", "The last metadata log entry applied to this node's image.")
                .set(Int64(r.appliedIndex.rawValue))
            gauge(derived, "sluice_raft_is_leader", "1 while this node leads the metadata log (it is the controller).")
                .set(Int64(r.isLeader ? 1 : 0))
        }
        gauge(derived, "sluice_metadata_image_index", "The Raft index of the metadata image this node serves from.")
            .set(Int64(snapshot.image.lastAppliedIndex.rawValue))
        return metrics.renderCounters() + derived.emitToString()
    }

    private func sampleReplicas() async -> [ReplicaMetricsSample] {
        let replicas = await partitions.allReplicas
        var samples: [ReplicaMetricsSample] = []
        samples.reserveCapacity(replicas.count)
        for (_, replica) in replicas { samples.append(await replica.metricsSample()) }
        return samples.sorted { $0.partition < $1.partition }
    }

    private func renderPartitions(_ all: [ReplicaMetricsSample], into r: PrometheusCollectorRegistry) {
        let shown = all.prefix(limits.partitionsMax)
        dropped(r, family: "partition", all.count - shown.count)
        gauge(r, "sluice_partitions", "Partition replicas this node hosts.").set(Int64(all.count))
        gauge(r, "sluice_partitions_led", "Partition replicas this node leads.").set(Int64(all.count { $0.isLeader }))
        gauge(r, "sluice_under_replicated_partitions", "Partitions this node leads whose ISR is smaller than their replica set.")
            .set(Int64(all.count { $0.isUnderReplicated }))
        for s in shown {
            let labels = [("topic", s.partition.topic.rawValue), ("partition", "\(s.partition.partition.rawValue)")]
            func g(_ name: String, _ help: String, _ value: Int64) {
                r.makeGauge(name: name, labels: labels, help: help).set(value)
            }
            g("sluice_partition_log_start_offset", "The first offset of the local log.", s.logStartOffset.rawValue)
            g("sluice_partition_log_end_offset", "The offset the next record appended to the local log gets.", s.logEndOffset.rawValue)
            g("sluice_partition_high_watermark", "The local replica's high watermark: consumers read below it.", s.highWatermark.rawValue)
            g("sluice_partition_size_bytes", "Bytes of the local log's segments on disk.", s.sizeInBytes)
            g("sluice_partition_leader", "1 if this node leads the partition, else 0.", s.isLeader ? 1 : 0)
            g("sluice_partition_isr_size", "In-sync replicas (the leader's view while leading, else the image's).", Int64(s.isrCount))
            g("sluice_partition_replicas", "Replicas assigned to the partition.", Int64(s.replicaCount))
            g("sluice_partition_under_replicated", "1 on the leader while the ISR is smaller than the replica set, else 0.",
              s.isUnderReplicated ? 1 : 0)
            r.makeCounter(name: "sluice_partition_appended_records_total", labels: labels,
                          help: "Records appended by this node as leader since the replica opened.").increment(by: s.appended.records)
            r.makeCounter(name: "sluice_partition_appended_bytes_total", labels: labels,
                          help: "Record batch bytes appended by this node as leader since the replica opened.").increment(by: s.appended.bytes)
            for (follower, lag) in s.followerLag.sorted(by: { $0.key < $1.key }) {
                r.makeGauge(name: "sluice_replica_follower_lag_offsets", labels: labels + [("follower", "\(follower.rawValue)")],
                            help: "Offsets a follower's log end is behind this leader's log end.").set(lag)
            }
        }
    }

    /// Group series on the coordinator only (the controller coordinates every group, DESIGN
    /// §2.4), from the image's durable state. Consumer lag on each partition's leader, which
    /// alone knows the partition's HW: committed offset vs HW, for every group that committed
    /// an offset for a partition this node leads. So each lag series comes from one node.
    private func renderGroups(_ snapshot: MetadataView.Snapshot, samples: [ReplicaMetricsSample], into r: PrometheusCollectorRegistry) {
        let groups = snapshot.image.groups.values.sorted { $0.groupID < $1.groupID }
        if snapshot.controllerID == nodeID {
            let shown = groups.prefix(limits.groupsMax)
            dropped(r, family: "group", groups.count - shown.count)
            gauge(r, "sluice_groups", "Consumer groups the metadata log holds (on the coordinator).").set(Int64(groups.count))
            for group in shown {
                let labels = [("group", group.groupID)]
                r.makeGauge(name: "sluice_group_members", labels: labels, help: "Members of the group's current generation.")
                    .set(Int64(group.state.members.count))
                r.makeGauge(name: "sluice_group_generation", labels: labels, help: "The group's generation id.")
                    .set(Int64(group.state.generation.rawValue))
                for phase in GroupPhase.allCases {
                    r.makeGauge(name: "sluice_group_state", labels: labels + [("state", phase.metricsName)],
                                help: "1 for the group's durable state, 0 for the others.").set(Int64(group.state.phase == phase ? 1 : 0))
                }
            }
        }
        let highWatermarks = Dictionary(uniqueKeysWithValues: samples.filter(\.isLeader).map { ($0.partition, $0.highWatermark) })
        var series = 0
        var omitted = 0
        for group in groups where !highWatermarks.isEmpty {
            for (partition, committed) in group.offsets.sorted(by: { $0.key < $1.key }) {
                guard let hw = highWatermarks[partition] else { continue }
                guard series < limits.groupLagSeriesMax else { omitted += 1; continue }
                series += 1
                r.makeGauge(name: "sluice_group_lag_offsets",
                            labels: [("group", group.groupID), ("topic", partition.topic.rawValue),
                                     ("partition", "\(partition.partition.rawValue)")],
                            help: "The partition's high watermark minus the group's committed offset (on the partition's leader).")
                    .set(max(0, committed.offset.distance(to: hw)))
            }
        }
        dropped(r, family: "group_lag", omitted)
    }

    private func gauge(_ r: PrometheusCollectorRegistry, _ name: String, _ help: String) -> Gauge {
        r.makeGauge(name: name, help: help)
    }

    private func dropped(_ r: PrometheusCollectorRegistry, family: String, _ count: Int) {
        r.makeGauge(name: "sluice_metrics_series_dropped", labels: [("family", family)],
                    help: "Label sets a cardinality cap left off this page, by family.").set(Int64(max(0, count)))
    }
}

extension GroupPhase {
    /// Kafka's names for the durable states.
    var metricsName: String {
        switch self {
        case .empty: "Empty"
        case .completingRebalance: "CompletingRebalance"
        case .stable: "Stable"
        }
    }
}
