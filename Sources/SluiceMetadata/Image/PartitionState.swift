import SluiceCore

/// One partition's replica set and leadership, as the controller last decided it.
///
/// Invariants (checked by `validate()` whenever the image changes it): `replicas` is non-empty
/// and has no duplicates; `isr` is a non-empty subset of `replicas` without duplicates;
/// `leader` is `NodeID.none` or a member of `isr`; both epochs are ≥ 0.
public struct PartitionState: Hashable, Sendable {
    public var replicas: [NodeID]
    public var isr: [NodeID]
    public var leader: NodeID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: PartitionEpoch

    public init(
        replicas: [NodeID], isr: [NodeID], leader: NodeID, leaderEpoch: LeaderEpoch,
        partitionEpoch: PartitionEpoch
    ) {
        self.replicas = replicas
        self.isr = isr
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
    }

    public var hasLeader: Bool { leader != .none }

    /// What is wrong with this state, or `nil` if its invariants hold.
    public func violation() -> String? {
        if replicas.isEmpty { return "no replicas" }
        if Set(replicas).count != replicas.count { return "duplicate replicas \(replicas)" }
        if isr.isEmpty { return "empty ISR" }
        if Set(isr).count != isr.count { return "duplicate ISR members \(isr)" }
        if !isr.allSatisfy(replicas.contains) { return "ISR \(isr) is not a subset of replicas \(replicas)" }
        if leader != .none && !isr.contains(leader) { return "leader \(leader) is not in ISR \(isr)" }
        if leaderEpoch.rawValue < 0 || partitionEpoch.rawValue < 0 { return "negative epoch" }
        return nil
    }
}
