import SluiceCore

/// How a consumer behaves: alone on partitions it is given, or as a member of a group; where
/// it starts without a committed offset; when it commits; how much it fetches.
///
/// ```swift
/// var options = ConsumerOptions(groupID: "billing")
/// options.commitPolicy = .interval(.seconds(5))
/// let consumer = client.makeConsumer(options)
/// try await consumer.subscribe(to: [TopicName("orders")!])
/// for try await record in consumer { … }
/// ```
public struct ConsumerOptions: Sendable {
    /// Where a partition starts when it has no committed offset, or when its position is out
    /// of range (the log was truncated or deleted under it). Kafka's `auto.offset.reset`.
    public enum AutoOffsetReset: Sendable, Hashable {
        /// The oldest record still in the log.
        case earliest
        /// The end of the log: only records written from now on.
        case latest
        /// No reset: the consumer fails with OFFSET_OUT_OF_RANGE.
        case none
    }

    /// When the consumer commits the offsets of records it handed out (the next offset to
    /// read: last handed-out offset + 1). Every policy but `.manual` also commits before a
    /// partition is revoked in a rebalance and when the consumer closes.
    public enum CommitPolicy: Sendable, Hashable {
        /// Only ``Consumer/commit()`` commits (and nothing is committed on revocation or close:
        /// commit before giving partitions up, or records since the last commit are read again).
        case manual
        /// Each time the sequence fetches the next batch, everything handed out before it
        /// (the previous batch, which the caller has processed) is committed.
        case afterEachBatch
        /// At most once per interval, when the sequence fetches the next batch.
        case interval(Duration)
    }

    /// The group: with ``Consumer/subscribe(to:)`` the group to join; with
    /// ``Consumer/assign(_:from:)`` only where offsets are committed and read (a "simple"
    /// consumer, generation -1). nil: no group, so nothing is committed.
    public var groupID: String?
    /// A static member id (Kafka's `group.instance.id`): a restart within the session timeout
    /// keeps the member's partitions without a rebalance.
    public var groupInstanceID: String?
    /// Assignors offered to the group, in preference order. The group uses the first one every
    /// member offers. The default, range then cooperative-sticky as in the Java client, shares
    /// a group with librdkafka (`range,roundrobin`) and kafka-python members through `range`.
    /// The member rebalances cooperatively only if every assignor listed is cooperative.
    public var assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()]
    /// The coordinator drops the member if it hears nothing (heartbeats) for this long.
    public var sessionTimeout: Duration = .seconds(45)
    /// How often the member heartbeats; at most a third of the session timeout.
    public var heartbeatInterval: Duration = .seconds(3)
    /// How long the coordinator waits for every member to rejoin in a rebalance. Group requests
    /// use their own connection whose request timeout covers it.
    public var rebalanceTimeout: Duration = .seconds(30)
    /// See ``AutoOffsetReset``.
    public var autoOffsetReset: AutoOffsetReset = .latest
    /// See ``CommitPolicy``.
    public var commitPolicy: CommitPolicy = .interval(.seconds(5))
    /// The fewest bytes a fetch waits for (up to `fetchWaitMax`).
    public var fetchBytesMin: Int32 = 1
    /// The most bytes one fetch response carries (all partitions of one node).
    public var fetchBytesMax: Int32 = 50 * 1024 * 1024
    /// The most bytes one partition contributes to a fetch response.
    public var partitionFetchBytesMax: Int32 = 1024 * 1024
    /// How long a node holds a fetch open waiting for `fetchBytesMin` bytes.
    public var fetchWaitMax: Duration = .milliseconds(500)
    /// The most records fetched ahead of the caller, over all partitions; the consumer stops
    /// fetching while this many wait to be handed out.
    public var prefetchRecordsMax: Int = 10_000

    /// Options for a consumer in group `groupID` (nil: explicitly assigned partitions only).
    public init(groupID: String? = nil) {
        self.groupID = groupID
    }

    /// Every problem with these options, as sentences (empty: usable).
    public func problems() -> [String] {
        var problems: [String] = []
        if let groupID, groupID.isEmpty { problems.append("groupID is empty; use nil for no group") }
        if groupID != nil, assignors.isEmpty { problems.append("a group member needs at least one assignor") }
        if Set(assignors.map(\.name)).count != assignors.count { problems.append("assignor names repeat") }
        if sessionTimeout < .seconds(1) { problems.append("sessionTimeout must be at least 1 s") }
        if heartbeatInterval <= .zero || heartbeatInterval * 3 > sessionTimeout {
            problems.append("heartbeatInterval must be positive and at most a third of sessionTimeout")
        }
        if rebalanceTimeout < .seconds(1) { problems.append("rebalanceTimeout must be at least 1 s") }
        if fetchBytesMin < 0 || fetchBytesMax < 1 || partitionFetchBytesMax < 1 {
            problems.append("fetch byte limits must be positive")
        }
        if fetchWaitMax < .zero || fetchWaitMax > .seconds(60) { problems.append("fetchWaitMax must lie in 0…60 s") }
        if prefetchRecordsMax < 1 { problems.append("prefetchRecordsMax must be at least 1") }
        if case .interval(let every) = commitPolicy, every <= .zero {
            problems.append("the commit interval must be positive")
        }
        return problems
    }

    /// The rebalance protocol the member follows: cooperative only if every assignor is
    /// (Kafka's rule: an eager assignor in the list makes the whole member eager).
    var rebalanceProtocol: RebalanceProtocol {
        assignors.allSatisfy { $0.rebalanceProtocol == .cooperative } ? .cooperative : .eager
    }
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 (Kafka's timeout fields).
    var milliseconds32: Int32 {
        let parts = components
        return Int32(clamping: parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }
}
