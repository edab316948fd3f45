import SluiceCore

/// Why a leadership transfer was refused.
public enum TransferError: Error, Sendable, Equatable {
    case notLeader(knownLeader: NodeID?)
    /// Only a voter other than the leader can take over.
    case notAVoter(NodeID)
}
