import SluiceCore
import SluiceStorage

/// One replication simulation run's shape (`ReplicationSimulation`). Times are milliseconds of
/// simulated time; rates are per fault step (one every `faultStepMs`).
public struct ReplicationSimulationOptions: Sendable {
    public var seed: UInt64
    public var brokerCount = 3
    /// Partitions of the one topic, each with replication factor 3.
    public var partitionCount = 2
    public var minInsyncReplicas = 2
    /// `.none` (durability from replication, Kafka's default) or `.always` (fsync before a
    /// follower reports its position and before the leader counts its own append).
    public var flush: FlushPolicy = .none
    /// Small segments, so rolls (which fsync) and multi-segment reads happen.
    public var segmentBytes = 4_096

    /// Crashes, restarts, pauses, network partitions and leader moves happen during this long;
    /// then every node comes back, the network heals and producers stop.
    public var faultPhaseMs: Int64 = 6_000
    /// After healing, every partition must have a leader, its full ISR and converged logs
    /// within this long.
    public var healingBoundMs: Int64 = 12_000
    public var faultStepMs: Int64 = 100
    public var crashRate = 0.025
    public var pauseRate = 0.02
    public var isolateRate = 0.02
    /// A leader move: the leader's heartbeats to the controller stop long enough for its
    /// lease to expire, so the controller elects another ISR member.
    public var leaderMoveRate = 0.02
    /// A bit flip in a closed segment of one replica (bit rot). 0 by default, so the other
    /// runs' random streams, and their seeds' runs, stay as they were.
    public var bitFlipRate = 0.0
    /// Probability that a message between nodes is lost.
    public var messageLossRate = 0.02
    /// Producers send a batch about this often per partition.
    public var produceIntervalMs: Int64 = 25

    public var brokerSessionTimeoutMs: Int64 = 1_000
    public var replicaLagTimeMaxMs: Int64 = 600
    public var heartbeatIntervalMs: Int64 = 150
    public var requestTimeoutMs: Int64 = 250

    /// A deliberate mutation of the simulation's wiring, to prove the checker catches it.
    public var bug: ReplicationBugInjection = .none
    /// Events kept for the failure report.
    public var traceEventsMax = 400

    public init(seed: UInt64) {
        self.seed = seed
        // Every fourth seed fsyncs every append: then even a crash of every replica at once
        // must not lose an acknowledged batch.
        if seed % 4 == 3 { flush = .always }
        partitionCount = 1 + Int(seed % 2)
    }
}

/// A deliberate defect in the wiring around the real replication core and controller. Each
/// must be caught by `ReplicationSimulationChecker` within a few seeds.
public enum ReplicationBugInjection: String, Sendable, CaseIterable {
    case none
    /// The leader takes its own log end as the high watermark (ignoring the ISR), so acks=all
    /// answers and consumers read before any follower has the batch.
    case hwFromLeaderAlone
    /// A new follower truncates its log to its own high watermark instead of asking the
    /// leader where its epoch ends (the pre-KIP-101 rule).
    case truncateByHW
    /// The controller's elections pick a replica outside the ISR when one is available
    /// (unclean election).
    case electOutsideISR
}

extension ReplicationSimulation {
    /// What one run did and whether every check held.
    public struct Result: Sendable {
        public let seed: UInt64
        /// The first violation: its time, the event and what broke.
        public let violation: String?
        /// The last events before the end of the run (or the violation).
        public let trace: [String]
        /// A digest of every event of the run: equal digests mean the same run.
        public let digest: UInt64
        public let acknowledgedBatches: Int
        public let servedBatches: Int
        public let leaderEpochs: Int
        public let crashes: Int
        /// Crashes that lost unsynced bytes of some partition log.
        public let lossyCrashes: Int
        public let truncations: Int
        public let isrChanges: Int
        /// Partitions left without a leader, with the controller's reason, because their only
        /// in-sync replica may have lost acknowledged batches in a crash.
        public let leaderlessPartitions: Int
        /// Bits flipped in closed segments, and damaged batches cut away and fetched again.
        public let bitFlips: Int
        public let healedDamages: Int
        public var passed: Bool { violation == nil }
    }
}
