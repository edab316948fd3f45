import SluiceCore

/// Tunables of one Raft node. Every limit is a named `…Max` so memory stays bounded.
public struct RaftOptions: Sendable {
    /// Ticks without hearing from a leader before a follower campaigns. The actual timeout is
    /// drawn uniformly from [electionTicks, 2 × electionTicks) after every reset, so that split
    /// votes resolve (paper §5.2).
    public var electionTicks: Int = 10
    /// Ticks between a leader's heartbeats. Must be well below `electionTicks`.
    public var heartbeatTicks: Int = 1
    /// Campaign in two phases (thesis §9.6) so a node that cannot win never bumps the term.
    public var preVote: Bool = true
    /// A leader steps down after an election timeout without hearing from a quorum, and
    /// followers that heard from a leader within an election timeout ignore (pre)votes
    /// (thesis §6.2 and §4.2.3, the leader lease).
    public var checkQuorum: Bool = true
    /// Unacknowledged appends in flight to one follower in the replicate state.
    public var inflightAppendsMax: Int = 16
    /// Entries in one append message.
    public var entriesPerAppendMax: Int = 64
    /// Entries the leader holds beyond its commit index before it refuses proposals.
    public var uncommittedEntriesMax: Int = 4096
    /// Largest accepted proposal payload.
    public var entryBytesMax: Int = 1 << 20
    /// Committed entries handed out in one `Ready`.
    public var committedEntriesPerReadyMax: Int = 1024
    /// Messages queued between two `ready()` calls; beyond it new messages are dropped, which
    /// Raft tolerates like any network loss.
    public var outboxMessagesMax: Int = 4096

    public init() {}

    func validate() {
        precondition(electionTicks > 0 && heartbeatTicks > 0 && heartbeatTicks < electionTicks,
                     "need 0 < heartbeatTicks < electionTicks")
        precondition(inflightAppendsMax > 0 && entriesPerAppendMax > 0 && uncommittedEntriesMax > 0
                     && committedEntriesPerReadyMax > 0 && outboxMessagesMax > 0 && entryBytesMax > 0,
                     "limits must be positive")
    }
}
