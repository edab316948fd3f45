/// The replication settings of one node (`[replication]` in the node config).
public struct ReplicationOptions: Hashable, Sendable {
    /// A follower in the ISR that has not caught up to the leader's log end for this long is
    /// removed from it (Kafka's `replica.lag.time.max.ms`, 30 s there; 10 s here, so a paused
    /// node stops holding `acks=all` producers up sooner).
    public var replicaLagTimeMaxMs: Int64 = 10_000

    public init(replicaLagTimeMaxMs: Int64 = 10_000) {
        self.replicaLagTimeMaxMs = replicaLagTimeMaxMs
    }

    /// Every problem with the options, empty if none.
    public func validate() -> [String] {
        replicaLagTimeMaxMs > 0 ? [] : ["replica_lag_time_max_ms must be positive"]
    }
}
