import SluiceCore
import SluiceWire

/// The consumer's state and the tasks that fill it: fetched chunks waiting to be handed out,
/// each assigned partition's fetch position, and (in a group) the membership driven by a
/// background task (`ConsumerEngine+Group`). Every path re-checks `isClosed` and partition
/// epochs after an `await`: a seek, revocation or close may have happened meanwhile.
actor ConsumerEngine {
    /// One assigned partition.
    struct PartitionState {
        /// The ledger epoch its chunks carry; a seek or reassignment opens a new one.
        var epoch: UInt64
        /// The next offset to fetch; nil until `reset` is looked up.
        var fetchPosition: Offset?
        /// Where to start when `fetchPosition` is nil.
        var reset: ConsumerPosition
    }

    let cluster: ClusterClient
    let options: ConsumerOptions
    nonisolated let ledger = DeliveryLedger()

    var partitions: [TopicPartition: PartitionState] = [:]
    /// Fetched chunks in arrival order. Invariant: `bufferedRecords` counts their records.
    var ready: [FetchedChunk] = []
    var bufferedRecords = 0
    var fetchTask: Task<Void, Never>?
    /// After a retriable fetch error, no fetch before this instant (the client's backoff).
    var fetchNotBefore: ContinuousClock.Instant?
    /// An error every later call throws (e.g. OFFSET_OUT_OF_RANGE with reset `.none`).
    var fatal: SluiceClientError?
    var isClosed = false
    /// Set when `close` starts: nothing more is handed out, so its final commit is final.
    var isClosing = false

    /// The last offset committed (or read as committed) per partition; commits skip equal ones.
    var lastCommitted: [TopicPartition: Offset] = [:]
    var lastAutoCommit = ContinuousClock.now
    /// One commit at a time (`serializedCommit`). Invariant: waiters only while taken; a
    /// finishing commit hands the turn to the first waiter.
    var commitTurnTaken = false
    var commitTurnWaiters: [CheckedContinuation<Void, Never>] = []

    // Group membership (nil for assigned partitions).
    var subscription: [TopicName] = []
    var membership: GroupMembership?
    var groupTask: Task<Void, Never>?
    /// A client of its own for JoinGroup/SyncGroup/Heartbeat: a parked JoinGroup must not hold
    /// up fetches and commits on the shared connection, and it needs a longer request timeout.
    var groupCluster: ClusterClient?
    /// Actions other paths (a rejected commit) hand to the group task.
    var pendingGroupActions: [GroupAction] = []

    init(cluster: ClusterClient, options: ConsumerOptions) {
        self.cluster = cluster
        self.options = options
    }

    func validate() throws(SluiceClientError) {
        if isClosed { throw .closed }
        let problems = options.problems()
        guard problems.isEmpty else { throw .invalidConfiguration(problems) }
    }

    // MARK: assignment

    func assign(_ list: [TopicPartition], from position: ConsumerPosition) async throws(SluiceClientError) {
        try validate()
        guard membership == nil else {
            throw .invalidArgument("this consumer is subscribed to a group; assign partitions on another consumer")
        }
        if position == .committed, options.groupID == nil, options.autoOffsetReset == .none {
            throw .invalidArgument("a consumer without a groupID has no committed offsets; start from a position")
        }
        for partition in partitions.keys where !list.contains(partition) { removePartition(partition) }
        for partition in list { addPartition(partition, from: position) }
    }

    func seek(_ partition: TopicPartition, to position: ConsumerPosition) throws(SluiceClientError) {
        try validate()
        guard partitions[partition] != nil else {
            throw .invalidArgument("\(partition) is not assigned to this consumer; seek only assigned partitions")
        }
        addPartition(partition, from: position)
    }

    func assignedPartitions() -> [TopicPartition] {
        partitions.keys.sorted()
    }

    /// Starts (or restarts) `partition` at `position`, dropping anything buffered for it.
    func addPartition(_ partition: TopicPartition, from position: ConsumerPosition) {
        var consumed: Offset?
        if case .offset(let offset) = position { consumed = offset }
        let epoch = ledger.open(partition, consumed: consumed)
        var state = PartitionState(epoch: epoch, fetchPosition: nil, reset: position)
        if case .offset(let offset) = position, offset >= .zero { state.fetchPosition = offset }
        partitions[partition] = state
        dropBuffered(partition)
    }

    /// Stops consuming `partition`; returns the offset after the last record handed out.
    @discardableResult
    func removePartition(_ partition: TopicPartition) -> Offset? {
        partitions[partition] = nil
        dropBuffered(partition)
        return ledger.close(partition)
    }

    private func dropBuffered(_ partition: TopicPartition) {
        let (stale, kept) = (ready.filter { $0.partition == partition }, ready.filter { $0.partition != partition })
        bufferedRecords -= stale.reduce(0) { $0 + $1.records.count }
        ready = kept
    }

    // MARK: handing out

    /// Loads the ledger with the next chunk of records to hand out, fetching as needed;
    /// false once closed.
    func refill() async throws(SluiceClientError) -> Bool {
        try validate()
        while true {
            if isClosed || isClosing || Task.isCancelled { return false }
            if let fatal { throw fatal }
            if ledger.hasPending { return true }
            await commitIfDue()
            while !ready.isEmpty {
                let chunk = ready.removeFirst()
                bufferedRecords -= chunk.records.count
                guard ledger.isOpen(chunk.partition, epoch: chunk.epoch) else { continue }
                ledger.load(chunk)
                startFetchIfRoom()
                return true
            }
            startFetchIfRoom()
            if let task = fetchTask { await task.value }
        }
    }

    /// Starts a fetch round in the background unless one runs or the buffer is full.
    func startFetchIfRoom() {
        guard fetchTask == nil, !isClosed, bufferedRecords < options.prefetchRecordsMax else { return }
        // The root of the consumer's fetching: one round at a time, awaited by `nextChunk`.
        fetchTask = Task { await self.fetchRound() }
    }

    // MARK: closing

    func close() async {
        guard !isClosed, !isClosing else { return }
        isClosing = true
        ledger.stopHandingOut()
        if membership != nil {
            if options.commitPolicy != .manual { await commitBeforeLeaving() }
            await leaveGroup()
        } else if options.commitPolicy != .manual {
            try? await commitConsumed()
        }
        isClosed = true
        fetchTask?.cancel()
        for partition in Array(partitions.keys) { removePartition(partition) }
        if let groupCluster { await groupCluster.close() }
        // Both tasks end promptly once closed (a fetch within `fetchWaitMax`); wait for them so
        // nothing of this consumer outlives `close`.
        await groupTask?.value
        await fetchTask?.value
    }
}

extension KafkaErrorCode {
    /// The code for a raw wire value; codes this client does not know read as UNKNOWN_SERVER_ERROR.
    static func from(_ raw: Int16) -> KafkaErrorCode {
        KafkaErrorCode(rawValue: raw) ?? .unknownServerError
    }
}
