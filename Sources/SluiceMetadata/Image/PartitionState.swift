import SluiceCore

/// One partition's replica set and leadership, as the controller last decided it.
///
/// Invariants (checked by `validate()` whenever the image changes it): `replicas` is non-empty
/// and has no duplicates; `isr` is a non-empty subset of `replicas` without duplicates;
/// `leader` is `NodeID.none` or a member of `isr`; both epochs are ≥ 0; `isrRestartedUnclean`
/// only on a leaderless partition with a single ISR member.
public struct PartitionState: Hashable, Sendable {
    public var replicas: [NodeID]
    public var isr: [NodeID]
    public var leader: NodeID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: PartitionEpoch
    /// The partition's only in-sync replica restarted after an unclean shutdown while it was
    /// the only one: its log may have lost records that were acknowledged (written but not
    /// fsynced), so electing it would be an unclean election. The partition stays leaderless
    /// until `unclean.leader.election.enable` allows one; the election clears the flag.
    public var isrRestartedUnclean: Bool

    public init(
        replicas: [NodeID], isr: [NodeID], leader: NodeID, leaderEpoch: LeaderEpoch,
        partitionEpoch: PartitionEpoch, isrRestartedUnclean: Bool = false
    ) {
        self.replicas = replicas
        self.isr = isr
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.isrRestartedUnclean = isrRestartedUnclean
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
        if isrRestartedUnclean && (leader != .none || isr.count != 1) {
            return "an unclean restart of the ISR marks only a leaderless partition with one ISR member"
        }
        return nil
    }
}
