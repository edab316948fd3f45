import SluiceCore
import SluiceRaft

/// Why `RaftDriver.propose` did not return a committed index.
public enum RaftProposalError: Error, Sendable, Equatable {
    /// Only the leader takes proposals; retry at `leaderHint` if this node knows one.
    case notLeader(leaderHint: NodeID?)
    /// This node stopped being leader (or its entry was replaced) before the entry was applied.
    /// The outcome is unknown: a new leader may still commit the entry, so a caller that
    /// retries must tolerate a duplicate.
    case leadershipLost
    /// The leader is handing over to `transferee`; retry there shortly.
    case leadershipTransferInProgress(transferee: NodeID)
    /// Too many entries wait for a quorum (`RaftOptions.uncommittedEntriesMax`): back off.
    case tooManyUncommittedEntries(limit: Int)
    /// Larger than `RaftOptions.entryBytesMax`.
    case entryTooLarge(bytes: Int, limit: Int)
    /// The driver is not running (not started yet, shut down, or stopped by a storage error).
    case stopped
}

/// Why `RaftDriver.transferLeadership` did not move leadership.
public enum RaftTransferError: Error, Sendable, Equatable {
    case notLeader(leaderHint: NodeID?)
    /// A one-voter group has nobody to hand over to.
    case noOtherVoter
    case notAVoter(NodeID)
    /// The target did not take over within two election timeouts; this node may still lead.
    case timedOut
    case stopped
}

/// The leader as one node sees it, published on every change.
public struct RaftLeadership: Sendable, Equatable, CustomStringConvertible {
    public var leader: NodeID?
    public var term: RaftTerm
    /// Whether the observing node is the leader (so its controller should run).
    public var isLocal: Bool

    public init(leader: NodeID?, term: RaftTerm, isLocal: Bool) {
        self.leader = leader
        self.term = term
        self.isLocal = isLocal
    }

    public var description: String {
        "leader \(leader.map { "\($0)" } ?? "-") in term \(term)\(isLocal ? " (this node)" : "")"
    }
}
