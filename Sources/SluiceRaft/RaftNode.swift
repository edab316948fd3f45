import SluiceCore

/// One member of a Raft group as a pure state machine (etcd/raft style, DESIGN §2.1): events
/// go in through `step`, `tick`, `propose`, `campaign`, `transferLeadership` and `compact`;
/// work comes out through `ready()`, and the driver confirms it with `advance`. No I/O, clock
/// or randomness of its own: time is `tick()`, randomness the injected `RandomSource`.
///
/// A driver's loop:
/// ```swift
/// node.tick()                       // every tick interval
/// node.step(message)                // every message received for this node
/// let ticket = try node.propose(bytes)
/// if node.hasReady {
///     let ready = node.ready()
///     persist(ready.snapshot, ready.entries, ready.hardState); fsync()
///     send(ready.messages)
///     apply(ready.snapshot, ready.committedEntries)
///     node.advance(ready)
/// }
/// ```
public struct RaftNode: Sendable {
    public enum Role: Sendable, Equatable, CustomStringConvertible {
        case follower, preCandidate, candidate, leader
        public var description: String {
            switch self {
            case .follower: "follower"
            case .preCandidate: "pre-candidate"
            case .candidate: "candidate"
            case .leader: "leader"
            }
        }
    }

    public let id: NodeID
    public let configuration: RaftConfiguration
    let options: RaftOptions

    /// Invariant: never decreases; persisted (through `Ready.hardState`) before any message
    /// sent in it.
    public internal(set) var term: RaftTerm
    /// The candidate voted for in `term`. Invariant: at most one per term, persisted before the
    /// vote is sent.
    public internal(set) var vote: NodeID?
    /// The leader of `term` as far as this node knows. Invariant: `self.id` iff `role == .leader`.
    public internal(set) var leader: NodeID?
    public internal(set) var role: Role = .follower
    var log: RaftLog
    /// Leader only: every member's progress, including the leader's own (match = persisted
    /// last index). Invariant: empty unless `role == .leader`.
    var progress: [NodeID: Progress] = [:]
    /// (Pre-)candidate only: answers received in this campaign, self included.
    var votes: [NodeID: Bool] = [:]
    /// Ticks since the last reset: since hearing from the leader (followers), since the
    /// campaign started (candidates), since the last CheckQuorum round (leaders).
    var electionElapsed = 0
    /// Leader only: ticks since the last heartbeat.
    var heartbeatElapsed = 0
    /// Invariant: in [electionTicks, 2 × electionTicks); redrawn on every role change.
    var randomizedElectionTimeout: Int
    /// Leader only: the voter it is handing leadership to; proposals are refused meanwhile.
    public internal(set) var leadTransferee: NodeID?
    var random: any RandomSource & Sendable
    /// Messages waiting for the next `ready()`. Invariant: count ≤ `outboxMessagesMax`.
    var outbox: [RaftMessage] = []
    /// The hard state handed out in the last `Ready` (or restored at start).
    var lastReadyHardState: HardState
    /// A `Ready` is out and not yet advanced.
    var readyOutstanding = false

    /// Starts (or restarts) a node from what it persisted. `applied` is the last index the
    /// application's state already reflects; by default the snapshot's index.
    public init(
        id: NodeID, configuration: RaftConfiguration, options: RaftOptions = RaftOptions(),
        random: any RandomSource & Sendable, restoring state: RaftPersistentState = .empty,
        applied: RaftIndex? = nil
    ) {
        options.validate()
        precondition(configuration.contains(id), "node \(id) is not in the configuration")
        self.id = id
        self.configuration = state.snapshot?.configuration ?? configuration
        self.options = options
        self.random = random
        term = state.hardState.term
        vote = state.hardState.vote
        log = RaftLog(restoring: state, applied: applied)
        lastReadyHardState = state.hardState
        randomizedElectionTimeout = options.electionTicks
        resetRandomizedElectionTimeout()
    }

    // MARK: status (for drivers, tests and the simulator)

    public var raftCommitIndex: RaftIndex { log.raftCommitIndex }
    public var appliedIndex: RaftIndex { log.appliedIndex }
    public var lastIndex: RaftIndex { log.lastIndex }
    public var lastTerm: RaftTerm { log.lastTerm }
    /// The first index still in the log (entries before it are in the snapshot).
    public var firstIndex: RaftIndex { log.firstIndex }
    public var snapshot: RaftSnapshot? { log.snapshot }
    public func term(at index: RaftIndex) -> RaftTerm? { log.term(at: index) }
    public func entry(at index: RaftIndex) -> RaftEntry? { log.entry(at: index) }
    public var hardState: HardState { HardState(term: term, vote: vote, raftCommitIndex: log.raftCommitIndex) }
    /// Whether this node may become leader: a voter without an unpersisted snapshot.
    public var isPromotable: Bool { configuration.isVoter(id) && log.pendingSnapshot == nil }

    /// Leader only: the match index it holds for `peer`.
    public func matchIndex(of peer: NodeID) -> RaftIndex? { progress[peer]?.match }

    // MARK: events

    /// One unit of logical time passed.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickElection() }
    }

    /// Start an election now (as if the election timeout fired). A no-op on the leader,
    /// learners, and nodes that cannot campaign.
    public mutating func campaign() {
        guard role != .leader else { return }
        startCampaign(leadershipTransfer: false)
    }

    /// Append `data` to the log as a new entry, if this node is the leader. The entry is
    /// committed — durable on a quorum — once it comes back in `Ready.committedEntries` at
    /// the returned (index, term); a different entry at that index means it was lost.
    public mutating func propose(_ data: [UInt8]) throws(ProposalError) -> (index: RaftIndex, term: RaftTerm) {
        guard role == .leader else { throw .notLeader(knownLeader: leader) }
        if let leadTransferee { throw .leadershipTransferInProgress(transferee: leadTransferee) }
        guard data.count <= options.entryBytesMax else {
            throw .entryTooLarge(bytes: data.count, limit: options.entryBytesMax)
        }
        let uncommitted = Int(log.lastIndex.rawValue - log.raftCommitIndex.rawValue)
        guard uncommitted < options.uncommittedEntriesMax else {
            throw .tooManyUncommittedEntries(limit: options.uncommittedEntriesMax)
        }
        let entry = appendAsLeader(kind: .normal, data: data)
        return (entry.index, entry.term)
    }

    /// Queue a message; drop it if the outbox is full (safe: Raft tolerates loss).
    mutating func send(_ to: NodeID, _ body: RaftMessage.Body, term: RaftTerm? = nil) {
        guard outbox.count < options.outboxMessagesMax else { return }
        outbox.append(RaftMessage(from: id, to: to, term: term ?? self.term, body: body))
    }

    mutating func resetRandomizedElectionTimeout() {
        let e = options.electionTicks
        randomizedElectionTimeout = e + Int(random.next(below: UInt64(e)))
    }

    /// Invariant checks cheap enough to run after every event.
    func checkInvariants() {
        precondition((role == .leader) == (leader == id), "leader id and role disagree")
        precondition(role == .leader || progress.isEmpty, "only a leader tracks progress")
        precondition(log.appliedIndex <= log.raftCommitIndex && log.raftCommitIndex <= log.lastIndex,
                     "applied ≤ commit ≤ last violated")
    }
}
