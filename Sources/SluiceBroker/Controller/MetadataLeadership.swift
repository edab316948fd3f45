import SluiceCore

/// What the controller runner needs of the metadata log's Raft: who leads, whether this node
/// does now, and handing leadership over on shutdown. `RaftDriver` is the one in a node; tests
/// script leadership with their own.
protocol MetadataLeadership: Sendable {
    /// One element per change of leader (see `RaftDriver.leadershipChanges`).
    var leadershipChanges: AsyncStream<RaftLeadership> { get }
    var isLeader: Bool { get async }
    func handOverLeadership() async throws
}

extension RaftDriver: MetadataLeadership {
    func handOverLeadership() async throws { try await transferLeadership(to: nil) }
}
