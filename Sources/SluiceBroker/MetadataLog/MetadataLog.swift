import SluiceCore

/// The Raft metadata log as the controller sees it (the Raft driver implements it).
public protocol MetadataLog: Sendable {
    /// Appends `payload` as one entry and returns once it is committed and applied on this
    /// node. Throws if this node is not the leader, or stops being leader before the commit.
    func propose(_ payload: [UInt8]) async throws -> RaftIndex
}
