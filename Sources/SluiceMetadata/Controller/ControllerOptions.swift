/// The controller's settings, from the node config (`[topics]`, `[cluster]`).
public struct ControllerOptions: Hashable, Sendable {
    /// A broker that has not heartbeated for this long is fenced (Kafka's
    /// `broker.session.timeout.ms` default is 9 s).
    public var brokerSessionTimeoutMs: Int64 = 9_000
    /// What CreateTopics' -1 means for the partition count and the replication factor.
    public var defaultPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    public var topicConfigDefaults: TopicConfigDefaults = .standard
    /// Most partitions in the whole cluster: the image, every node's partition manager and a
    /// snapshot grow with it.
    public var clusterPartitionsMax = 200_000
    /// Moves leadership back to each partition's preferred replica (its first) once that
    /// replica is in sync again, so leaders stay spread after restarts (Kafka's
    /// `auto.leader.rebalance.enable`, `leader.imbalance.check.interval.seconds` = 300 and
    /// `leader.imbalance.per.broker.percentage` = 10).
    public var autoLeaderRebalance = true
    public var leaderImbalanceCheckIntervalMs: Int64 = 300_000
    /// A broker's partitions are moved back when more than this share of those it is
    /// preferred for are led elsewhere.
    public var leaderImbalancePerBrokerPercentage = 10

    public init() {}

    /// Every problem with the options, empty if none.
    public func validate() -> [String] {
        var problems: [String] = []
        if brokerSessionTimeoutMs <= 0 { problems.append("brokerSessionTimeoutMs must be positive") }
        if !(1...Controller.partitionsPerTopicMax).contains(defaultPartitions) {
            problems.append("defaultPartitions must be in 1...\(Controller.partitionsPerTopicMax)")
        }
        if !(1...Int16(Controller.replicationFactorMax)).contains(defaultReplicationFactor) {
            problems.append("defaultReplicationFactor must be in 1...\(Controller.replicationFactorMax)")
        }
        if clusterPartitionsMax < 1 { problems.append("clusterPartitionsMax must be positive") }
        if leaderImbalanceCheckIntervalMs <= 0 { problems.append("leaderImbalanceCheckIntervalMs must be positive") }
        if !(0...100).contains(leaderImbalancePerBrokerPercentage) {
            problems.append("leaderImbalancePerBrokerPercentage must be in 0...100")
        }
        return problems
    }
}
