import SluiceCore
import SluiceRaft

/// One node of the simulated cluster: its Raft core and state machine (lost on a crash), its
/// disk (which survives), and the Ready it is persisting.
struct SimulatedNode {
    let id: NodeID
    let configuration: RaftConfiguration
    var disk = SimulatedDisk()
    /// Invariant: nil while the node is down.
    var raft: RaftNode?
    var stateMachine = ReplicatedStateMachine()
    /// The Ready whose writes await fsync; nil when none.
    var pendingReady: Ready?
    /// The tick at which the pending fsync completes.
    var fsyncDoneAt = 0
    var restarts = 0
    /// Proposals this node made as leader: index → (term, payload), until applied or lost.
    var proposals: [RaftIndex: RaftTerm] = [:]

    var isUp: Bool { raft != nil }
}
