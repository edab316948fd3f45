/// The coordinator's limits and timers; names follow Kafka's broker settings.
public struct GroupOptions: Sendable, Hashable {
    /// `group.min.session.timeout.ms`: a JoinGroup asking for less gets INVALID_SESSION_TIMEOUT.
    public var minSessionTimeoutMs: Int32 = 6_000
    /// `group.max.session.timeout.ms`.
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// `group.initial.rebalance.delay.ms`: an Empty group's first join phase waits this long
    /// (extended while new members keep arriving, up to the rebalance timeout).
    public var initialRebalanceDelayMs: Int32 = 3_000
    /// `offsets.retention.minutes` (in ms): an empty group and its offsets are removed once it
    /// has been empty, and received no commit, for this long (wall clock).
    public var offsetsRetentionMs: Int64 = 7 * 86_400_000
    /// `group.max.size`: members (including ones that were told MEMBER_ID_REQUIRED) beyond
    /// this get GROUP_MAX_SIZE_REACHED.
    public var maxGroupSize: Int = 1_000

    public init() {}

    /// Every problem with these options (empty when valid).
    public func validate() -> [String] {
        var problems: [String] = []
        if minSessionTimeoutMs < 1 { problems.append("minSessionTimeoutMs must be positive") }
        if maxSessionTimeoutMs < minSessionTimeoutMs {
            problems.append("maxSessionTimeoutMs must be at least minSessionTimeoutMs")
        }
        if initialRebalanceDelayMs < 0 { problems.append("initialRebalanceDelayMs must not be negative") }
        if offsetsRetentionMs < 1 { problems.append("offsetsRetentionMs must be positive") }
        if maxGroupSize < 1 || maxGroupSize > GroupCoordinator.groupSizeLimit {
            problems.append("maxGroupSize must be in 1...\(GroupCoordinator.groupSizeLimit)")
        }
        return problems
    }
}
