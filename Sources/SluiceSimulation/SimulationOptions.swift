import SluiceCore
import SluiceRaft

/// A deliberate defect, to prove the safety checker catches what it claims to catch.
public enum BugInjection: String, Sendable, CaseIterable {
    case none
    /// Restarted nodes forget whom they voted for (as if the vote were never fsynced), so a
    /// node can vote twice in one term: two leaders in a term.
    case forgetVoteOnRestart
    /// Node 1 is configured as a one-voter group of its own: a split brain by configuration.
    case splitConfiguration
    /// The driver sends a Ready's messages before its fsync completes, so a crash can lose an
    /// entry or vote that was already acknowledged.
    case sendBeforeFsync
}

/// One simulation run's shape. Fault rates are per tick; the seed chooses among ranges of
/// them (`forSeed`) so that different seeds explore calm and hostile networks alike.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var voterCount: Int = 3
    public var learnerCount: Int = 0
    /// Ticks of random faults, then a healed liveness phase: within `livenessTicksMax` a
    /// leader must commit a new entry, and within `convergenceTicksMax` every node must apply
    /// it (catching up can take long with one-entry appends and a window of one).
    public var faultTicks: Int = 400
    public var livenessTicksMax: Int = 500
    public var convergenceTicksMax: Int = 2000
    public var raftOptions = RaftOptions()

    public var proposalRate = 0.3
    public var crashRate = 0.01
    public var restartRate = 0.1
    public var partitionRate = 0.01
    public var healRate = 0.03
    public var compactionRate = 0.03
    public var transferRate = 0.005
    /// Chance that a node misses a tick (clock drift).
    public var tickSkipRate = 0.03
    /// Chance that an fsync takes a tick or two, so crashes can hit unsynced writes.
    public var slowFsyncRate = 0.3

    public var dropRate = 0.02
    public var duplicateRate = 0.02
    /// Normal delivery takes 1…maxDelayTicks ticks; with `longDelayRate`, up to
    /// `longDelayTicksMax` (reordering across elections).
    public var maxDelayTicks = 2
    public var longDelayRate = 0.02
    public var longDelayTicksMax = 25

    public var bug: BugInjection = .none
    /// Events kept for the failure report.
    public var traceEventsMax = 400
    /// Also trace every message delivered (slower; what `sluice-sim --seed N` shows).
    public var traceMessages = false

    public init(seed: UInt64, voterCount: Int = 3, learnerCount: Int = 0) {
        self.seed = seed
        self.voterCount = voterCount
        self.learnerCount = learnerCount
    }

    /// Options whose network hostility is drawn from the seed.
    public static func forSeed(_ seed: UInt64, voterCount: Int, learnerCount: Int = 0) -> SimulationOptions {
        var o = SimulationOptions(seed: seed, voterCount: voterCount, learnerCount: learnerCount)
        var r = SplitMix64(seed: seed ^ 0x5EED_0F_FA_017)
        o.dropRate = [0, 0.01, 0.05, 0.15][Int(r.next(below: 4))]
        o.duplicateRate = [0, 0.02, 0.1][Int(r.next(below: 3))]
        o.maxDelayTicks = [1, 2, 4][Int(r.next(below: 3))]
        o.crashRate = [0.005, 0.01, 0.03][Int(r.next(below: 3))]
        o.partitionRate = [0.005, 0.01, 0.03][Int(r.next(below: 3))]
        o.compactionRate = [0.01, 0.05][Int(r.next(below: 2))]
        // Small batches and windows make a leader learn matches entry by entry, which reaches
        // states (an old-term index matched before the leader's own entry) that big batches skip.
        o.raftOptions.entriesPerAppendMax = [1, 4, 64][Int(r.next(below: 3))]
        o.raftOptions.inflightAppendsMax = [1, 4, 16][Int(r.next(below: 3))]
        // One entry per append with a window of one replicates one entry per round trip (up
        // to 8 ticks here), below the offered load of 0.3 proposals per tick: the backlog
        // would grow without bound and no leader would ever reach its own entry.
        if o.raftOptions.entriesPerAppendMax == 1 && o.raftOptions.inflightAppendsMax == 1 {
            o.raftOptions.inflightAppendsMax = 4
        }
        o.raftOptions.heartbeatTicks = [1, 2, 3][Int(r.next(below: 3))]
        // Back-pressure, as a real leader applies it: refuse proposals beyond a bounded
        // uncommitted backlog.
        o.raftOptions.uncommittedEntriesMax = 256
        return o
    }
}
