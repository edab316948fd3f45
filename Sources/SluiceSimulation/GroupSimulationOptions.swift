@_spi(Testing) import SluiceMetadata

/// One consumer-group simulation run's shape (`GroupSimulation`). Times are milliseconds of
/// simulated time; rates are per fault step (one every `faultStepMs`).
public struct GroupSimulationOptions: Sendable {
    public var seed: UInt64
    /// Random joins, leaves, crashes, pauses, static restarts and controller failovers happen
    /// during this long; then faults stop and the liveness bound starts.
    public var faultPhaseMs: Int64 = 20_000
    /// After faults stop, every live group must be Stable with all its live members within this.
    public var livenessBoundMs: Int64 = 25_000
    public var faultStepMs: Int64 = 250
    public var joinRate = 0.06
    public var leaveRate = 0.02
    public var crashRate = 0.02
    public var pauseRate = 0.02
    public var staticRestartRate = 0.03
    public var failoverRate = 0.02
    /// Most consumers alive in one group at a time.
    public var consumersPerGroupMax = 5
    /// A deliberate coordinator bug, to prove the checker catches it.
    public var bug: GroupBugInjection = .none
    /// Events kept for the failure report.
    public var traceEventsMax = 300

    public init(seed: UInt64) { self.seed = seed }
}

/// A deliberate defect in the group coordinator, to prove the group checker catches what it
/// claims to catch (`GroupCoordinatorBug`, the coordinator's test-only switch).
public enum GroupBugInjection: String, Sendable, CaseIterable {
    case none
    /// OffsetCommit skips the member and generation checks: zombies' commits are accepted.
    case acceptCommitsFromUnknownMembers
    /// A completed join phase keeps the old generation number.
    case keepGenerationOnRebalance

    var coordinatorBug: GroupCoordinatorBug {
        switch self {
        case .none: .none
        case .acceptCommitsFromUnknownMembers: .acceptCommitsFromUnknownMembers
        case .keepGenerationOnRebalance: .keepGenerationOnRebalance
        }
    }
}

extension GroupSimulation {
    /// What one run did and whether every check held.
    public struct Result: Sendable {
        public let seed: UInt64
        /// The first violation: its time, the event and what broke.
        public let violation: String?
        /// The last events before the end of the run (or the violation).
        public let trace: [String]
        /// A digest of every event of the run: equal digests mean the same run.
        public let digest: UInt64
        public let committedEntries: Int
        public let acknowledgedCommits: Int
        public let generations: Int
        public let failovers: Int
        public let crashes: Int
        public let pauses: Int
        public let staticRestarts: Int
        public var passed: Bool { violation == nil }
    }
}
