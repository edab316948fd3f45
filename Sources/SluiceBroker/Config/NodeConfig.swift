import SluiceCore
import SluiceMetadata
import SluiceStorage

/// A node's whole configuration: a tree of value structs whose defaults are the development
/// broker (`sluice-server` with no arguments). `Config/sluice.toml` documents every key;
/// `validate()` reports every problem at once.
public struct NodeConfig: Equatable, Sendable {
    public struct Node: Equatable, Sendable {
        public var id: NodeID = 1
        public var dataDirectory = "data/dev"
    }

    public struct Listeners: Equatable, Sendable {
        public var client = HostPort(host: "127.0.0.1", port: 9092)
        public var interNode = HostPort(host: "127.0.0.1", port: 9093)
        public var http = HostPort(host: "127.0.0.1", port: 9094)
        /// What Metadata responses tell clients to connect to; nil = the client listener.
        public var advertisedClient: HostPort? = nil
        /// The local address this node's connections to other nodes bind to (Raft, replica
        /// fetch, heartbeats); nil lets the kernel pick. On one machine with a node per
        /// 127.0.0.I, binding each node's outgoing traffic to its own address is what lets a
        /// firewall rule cut one node off (the fault harness does).
        public var interNodeSource: String? = nil
    }

    /// A Raft voter: its node id and inter-node address.
    public struct Voter: Equatable, Sendable, CustomStringConvertible {
        public var id: NodeID
        public var address: HostPort
        public var description: String { "\(id)@\(address)" }
    }

    public struct Cluster: Equatable, Sendable {
        /// Empty: a cluster of this node alone.
        public var voters: [Voter] = []
        /// A broker whose heartbeats stop for this long is fenced: its leaderships move and it
        /// leaves every ISR (Kafka: broker.session.timeout.ms). It bounds how long a dead
        /// leader's partitions stay unavailable, and must be long enough that a busy node is not
        /// fenced by a late heartbeat.
        public var brokerSessionTimeoutMs: Int64 = 9_000
        /// How often a broker heartbeats to the controller (Kafka: broker.heartbeat.interval.ms).
        public var brokerHeartbeatIntervalMs: Int64 = 1_000
        /// On SIGTERM a node asks the controller to move its leaderships before it stops, and
        /// waits at most this long for that (then it stops anyway, and says so). 0 skips it.
        public var controlledShutdownTimeoutMs: Int64 = 30_000
        /// The controller moves leadership back to each partition's preferred replica once it
        /// is in sync again (Kafka's auto.leader.rebalance.enable and its two settings).
        public var autoLeaderRebalance = true
        public var leaderImbalanceCheckIntervalMs: Int64 = 300_000
        public var leaderImbalancePerBrokerPercentage = 10
    }

    public struct Topics: Equatable, Sendable {
        public var autoCreate = true
        public var defaultPartitions: Int32 = 1
        public var defaultReplicationFactor: Int16 = 1
        public var minInsyncReplicas: Int32 = 1
    }

    /// Partition replication (DESIGN §2.2), Kafka's `replica.*` settings.
    public struct Replication: Equatable, Sendable {
        /// A follower not caught up to the leader's log end for this long leaves the ISR
        /// (Kafka: replica.lag.time.max.ms).
        public var lagTimeMaxMs: Int64 = 10_000
        /// Bytes a follower fetches per partition per request (replica.fetch.max.bytes).
        public var fetchPartitionBytesMax = 1 << 20
        /// Bytes per fetch response over all partitions (replica.fetch.response.max.bytes).
        public var fetchResponseBytesMax = 10 << 20
        /// How long a follower's fetch waits at the leader for new records (replica.fetch.wait.max.ms).
        public var fetchWaitMaxMs: Int64 = 500
        /// Pause after a failed fetch before the next (replica.fetch.backoff.ms).
        public var fetchBackoffMs: Int64 = 200
    }

    public struct Limits: Equatable, Sendable {
        /// Largest request frame accepted (Kafka's socket.request.max.bytes).
        public var requestBytesMax = SluiceCore.Limits.frameBytesMax
        /// Open client connections at once; more are accepted and closed at once.
        public var connectionsMax = 4096
    }

    /// TLS on the listeners (DESIGN §2.6). When enabled, the inter-node listener and every
    /// connection a node makes to another always use mutual TLS with the cluster CA; the client
    /// listener uses TLS unless `clientListener` is false, asking clients for certificates per
    /// `clientAuthentication`. Relative paths are resolved from the working directory.
    public struct TLS: Equatable, Sendable {
        public enum ClientAuthentication: String, Equatable, Sendable, CaseIterable {
            case none, optional, required
        }
        public var enabled = false
        /// PEM: this node's certificate, then any intermediates. Presented on both listeners and
        /// to peers (node certificates carry serverAuth and clientAuth).
        public var certificatePath = ""
        public var privateKeyPath = ""
        /// PEM bundle of the cluster CA: peers' certificates and client certificates must chain to it.
        public var caBundlePath = ""
        /// For the client listener only; the inter-node listener always requires a certificate.
        public var clientAuthentication = ClientAuthentication.none
        /// TLS on the client listener too (false: clients plaintext, nodes still mutual TLS).
        public var clientListener = true
    }

    /// The consumer-group coordinator (DESIGN §2.4), Kafka's `group.*` and `offsets.*` settings.
    public struct Groups: Equatable, Sendable {
        /// Shortest session timeout a member may ask for (Kafka: group.min.session.timeout.ms);
        /// shorter gets INVALID_SESSION_TIMEOUT.
        public var minSessionTimeoutMs: Int32 = 6_000
        /// Longest session timeout a member may ask for (Kafka: group.max.session.timeout.ms).
        public var maxSessionTimeoutMs: Int32 = 1_800_000
        /// How long the first rebalance of an empty group waits for more members
        /// (Kafka: group.initial.rebalance.delay.ms).
        public var initialRebalanceDelayMs: Int32 = 3_000
        /// How long an empty group's committed offsets are kept (Kafka: offsets.retention.minutes);
        /// 7 days.
        public var offsetsRetentionMinutes: Int64 = 10_080
        /// Members per group at most (Kafka: group.max.size); more get GROUP_MAX_SIZE_REACHED.
        /// At most `GroupCoordinator.groupSizeLimit`.
        public var maxGroupSize: Int = 1_000

        /// The coordinator's options.
        public var options: GroupOptions {
            var options = GroupOptions()
            options.minSessionTimeoutMs = minSessionTimeoutMs
            options.maxSessionTimeoutMs = maxSessionTimeoutMs
            options.initialRebalanceDelayMs = initialRebalanceDelayMs
            options.offsetsRetentionMs = offsetsRetentionMinutes * 60_000
            options.maxGroupSize = maxGroupSize
            return options
        }
    }

    public var node = Node()
    public var listeners = Listeners()
    public var cluster = Cluster()
    public var topics = Topics()
    public var replication = Replication()
    public var log = LogConfig()
    public var limits = Limits()
    public var tls = TLS()
    public var groups = Groups()

    public init() {}

    /// The voters, with this node alone when none are configured.
    public var effectiveVoters: [Voter] {
        cluster.voters.isEmpty ? [Voter(id: node.id, address: listeners.interNode)] : cluster.voters
    }

    /// Every problem, as one readable line each; empty when the configuration is valid.
    public func validate() -> [String] {
        var problems: [String] = []
        if node.id.rawValue < 0 { problems.append("node.id must be 0 or more, not \(node.id)") }
        if node.dataDirectory.isEmpty { problems.append("node.data_dir must not be empty") }
        let ports = [("listeners.client", listeners.client), ("listeners.inter_node", listeners.interNode),
                     ("listeners.http", listeners.http)]
        for (i, a) in ports.enumerated() {
            for b in ports[(i + 1)...] where a.1 == b.1 && a.1.port != 0 {
                problems.append("\(a.0) and \(b.0) are both \(a.1)")
            }
        }
        let ids = cluster.voters.map(\.id)
        if Set(ids).count != ids.count { problems.append("cluster.voters lists a node id twice: \(ids)") }
        if !cluster.voters.isEmpty && !ids.contains(node.id) {
            problems.append("cluster.voters does not include this node (id \(node.id)); learners are not supported yet")
        }
        if cluster.brokerHeartbeatIntervalMs < 10 {
            problems.append("cluster.broker_heartbeat_interval_ms must be at least 10, not \(cluster.brokerHeartbeatIntervalMs)")
        }
        if cluster.brokerSessionTimeoutMs < 2 * cluster.brokerHeartbeatIntervalMs {
            problems.append("cluster.broker_session_timeout_ms (\(cluster.brokerSessionTimeoutMs)) must be at least twice cluster.broker_heartbeat_interval_ms (\(cluster.brokerHeartbeatIntervalMs)): one late heartbeat would fence a live broker")
        }
        if let source = listeners.interNodeSource, !HostPort.isIPLiteral(source) {
            problems.append("listeners.inter_node_source must be an IP address of this machine, not '\(source)'")
        }
        if topics.defaultPartitions < 1 { problems.append("topics.default_partitions must be at least 1, not \(topics.defaultPartitions)") }
        if topics.defaultReplicationFactor < 1 {
            problems.append("topics.default_replication_factor must be at least 1, not \(topics.defaultReplicationFactor)")
        }
        if !cluster.voters.isEmpty && Int(topics.defaultReplicationFactor) > cluster.voters.count {
            problems.append("topics.default_replication_factor \(topics.defaultReplicationFactor) is more than the \(cluster.voters.count) nodes in cluster.voters")
        }
        if topics.minInsyncReplicas > Int32(topics.defaultReplicationFactor) {
            problems.append("topics.min_insync_replicas \(topics.minInsyncReplicas) is more than topics.default_replication_factor \(topics.defaultReplicationFactor): acks=all could never succeed")
        }
        if replication.lagTimeMaxMs < 100 { problems.append("replication.lag_time_max_ms must be at least 100, not \(replication.lagTimeMaxMs)") }
        if replication.fetchWaitMaxMs < 0 || replication.fetchWaitMaxMs >= replication.lagTimeMaxMs {
            problems.append("replication.fetch_wait_max_ms must be in 0..<lag_time_max_ms (\(replication.lagTimeMaxMs)), not \(replication.fetchWaitMaxMs)")
        }
        if replication.fetchPartitionBytesMax < 1024 || replication.fetchPartitionBytesMax > replication.fetchResponseBytesMax {
            problems.append("replication.fetch_partition_bytes_max must be in 1024...fetch_response_bytes_max, not \(replication.fetchPartitionBytesMax)")
        }
        if replication.fetchResponseBytesMax >= limits.requestBytesMax {
            problems.append("replication.fetch_response_bytes_max (\(replication.fetchResponseBytesMax)) must be below limits.request_bytes_max (\(limits.requestBytesMax)): a response must fit one frame")
        }
        if replication.fetchBackoffMs < 0 { problems.append("replication.fetch_backoff_ms must be 0 or more, not \(replication.fetchBackoffMs)") }
        if topics.minInsyncReplicas < 1 { problems.append("topics.min_insync_replicas must be at least 1, not \(topics.minInsyncReplicas)") }
        if limits.requestBytesMax < 1024 { problems.append("limits.request_bytes_max must be at least 1024, not \(limits.requestBytesMax)") }
        if limits.connectionsMax < 1 { problems.append("limits.connections_max must be at least 1, not \(limits.connectionsMax)") }
        problems += log.problems().map { "log: \($0)" }
        if groups.minSessionTimeoutMs < 1 {
            problems.append("groups.min_session_timeout_ms must be at least 1, not \(groups.minSessionTimeoutMs)")
        }
        if groups.maxSessionTimeoutMs < groups.minSessionTimeoutMs {
            problems.append("groups.max_session_timeout_ms (\(groups.maxSessionTimeoutMs)) must not be below groups.min_session_timeout_ms (\(groups.minSessionTimeoutMs))")
        }
        if groups.initialRebalanceDelayMs < 0 {
            problems.append("groups.initial_rebalance_delay_ms must be 0 or more, not \(groups.initialRebalanceDelayMs)")
        }
        if groups.offsetsRetentionMinutes < 1 {
            problems.append("groups.offsets_retention_minutes must be at least 1, not \(groups.offsetsRetentionMinutes)")
        }
        if groups.maxGroupSize < 1 || groups.maxGroupSize > GroupCoordinator.groupSizeLimit {
            problems.append("groups.max_group_size must be in 1...\(GroupCoordinator.groupSizeLimit), not \(groups.maxGroupSize)")
        }
        if tls.enabled {
            for (key, value) in [("tls.certificate", tls.certificatePath), ("tls.private_key", tls.privateKeyPath),
                                 ("tls.ca", tls.caBundlePath)] where value.isEmpty {
                problems.append("\(key) must be set when tls.enabled = true")
            }
            if !tls.clientListener && tls.clientAuthentication != .none {
                problems.append("tls.client_auth = \"\(tls.clientAuthentication.rawValue)\" needs tls.client_listener = true (the client listener is plaintext)")
            }
        }
        return problems
    }
}
