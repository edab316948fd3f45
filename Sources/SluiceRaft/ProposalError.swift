import SluiceCore

/// Why a proposal was refused. Expected in normal operation: the caller retries at the
/// leader, or later.
public enum ProposalError: Error, Sendable, Equatable {
    /// Only the leader appends. `knownLeader` is where to retry, if this node knows one.
    case notLeader(knownLeader: NodeID?)
    /// The leader is handing over to `transferee` and refuses new entries until it is done.
    case leadershipTransferInProgress(transferee: NodeID)
    /// More than `RaftOptions.uncommittedEntriesMax` entries wait for a quorum: back off.
    case tooManyUncommittedEntries(limit: Int)
    /// The payload exceeds `RaftOptions.entryBytesMax`.
    case entryTooLarge(bytes: Int, limit: Int)
}
