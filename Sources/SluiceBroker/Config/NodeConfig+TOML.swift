import SluiceCore
import SluiceMetadata
import SluiceStorage
import TOMLKit

/// Reading a `NodeConfig` from TOML. Unknown sections and keys are errors (a typo must not
/// silently fall back to a default), and every problem is collected before failing.
extension NodeConfig {
    public struct LoadError: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// Parses `text` and validates the result; throws every problem found.
    public init(toml text: String) throws(LoadError) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw LoadError(problems: ["not valid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)"])
        } catch {
            throw LoadError(problems: ["not valid TOML: \(error)"])
        }
        var reader = TOMLReader()
        var config = NodeConfig()
        reader.section(table, "node", keys: ["id", "data_dir"]) { r, t in
            if let v = r.int(t, "node.id", "id", range: 0...Int(Int32.max)) { config.node.id = NodeID(Int32(v)) }
            if let v = r.string(t, "node.data_dir", "data_dir") { config.node.dataDirectory = v }
        }
        reader.section(table, "listeners", keys: ["client", "inter_node", "http", "advertised_client", "inter_node_source"]) { r, t in
            if let s = r.string(t, "listeners.inter_node_source", "inter_node_source"), !s.isEmpty { config.listeners.interNodeSource = s }
            if let v = r.address(t, "listeners.client", "client") { config.listeners.client = v }
            if let v = r.address(t, "listeners.inter_node", "inter_node") { config.listeners.interNode = v }
            if let v = r.address(t, "listeners.http", "http") { config.listeners.http = v }
            if let s = r.string(t, "listeners.advertised_client", "advertised_client"), !s.isEmpty {
                if let v = HostPort(s) { config.listeners.advertisedClient = v } else {
                    r.problems.append("listeners.advertised_client '\(s)' is not host:port")
                }
            }
        }
        reader.section(table, "cluster", keys: ["voters", "broker_session_timeout_ms", "broker_heartbeat_interval_ms",
                                                 "controlled_shutdown_timeout_ms", "auto_leader_rebalance",
                                                 "leader_imbalance_check_interval_ms", "leader_imbalance_per_broker_percentage"]) { r, t in
            if let v = r.int(t, "cluster.broker_session_timeout_ms", "broker_session_timeout_ms", range: 1...Int(Int32.max)) {
                config.cluster.brokerSessionTimeoutMs = Int64(v)
            }
            if let v = r.int(t, "cluster.broker_heartbeat_interval_ms", "broker_heartbeat_interval_ms", range: 1...Int(Int32.max)) {
                config.cluster.brokerHeartbeatIntervalMs = Int64(v)
            }
            if let v = r.int(t, "cluster.controlled_shutdown_timeout_ms", "controlled_shutdown_timeout_ms", range: 0...Int(Int32.max)) {
                config.cluster.controlledShutdownTimeoutMs = Int64(v)
            }
            if let v = r.bool(t, "cluster.auto_leader_rebalance", "auto_leader_rebalance") { config.cluster.autoLeaderRebalance = v }
            if let v = r.int(t, "cluster.leader_imbalance_check_interval_ms", "leader_imbalance_check_interval_ms", range: 100...Int(Int32.max)) {
                config.cluster.leaderImbalanceCheckIntervalMs = Int64(v)
            }
            if let v = r.int(t, "cluster.leader_imbalance_per_broker_percentage", "leader_imbalance_per_broker_percentage", range: 0...100) {
                config.cluster.leaderImbalancePerBrokerPercentage = v
            }
            guard let value = t["voters"] else { return }
            guard let array = value.array else { r.problems.append("cluster.voters must be an array of \"id@host:port\""); return }
            for item in array {
                guard let s = item.string, let at = s.firstIndex(of: "@"), let id = Int32(s[..<at]), id >= 0,
                      let address = HostPort(String(s[s.index(after: at)...]))
                else {
                    r.problems.append("cluster.voters entry \(item) is not \"id@host:port\"")
                    continue
                }
                config.cluster.voters.append(Voter(id: NodeID(id), address: address))
            }
        }
        reader.section(table, "topics", keys: ["auto_create", "default_partitions", "default_replication_factor", "min_insync_replicas"]) { r, t in
            if let v = r.bool(t, "topics.auto_create", "auto_create") { config.topics.autoCreate = v }
            if let v = r.int(t, "topics.default_partitions", "default_partitions", range: 1...1_000_000) { config.topics.defaultPartitions = Int32(v) }
            if let v = r.int(t, "topics.default_replication_factor", "default_replication_factor", range: 1...Int(Int16.max)) {
                config.topics.defaultReplicationFactor = Int16(v)
            }
            if let v = r.int(t, "topics.min_insync_replicas", "min_insync_replicas", range: 1...Int(Int16.max)) { config.topics.minInsyncReplicas = Int32(v) }
        }
        reader.section(table, "replication", keys: ["lag_time_max_ms", "fetch_partition_bytes_max", "fetch_response_bytes_max",
                                                    "fetch_wait_max_ms", "fetch_backoff_ms"]) { r, t in
            if let v = r.int(t, "replication.lag_time_max_ms", "lag_time_max_ms", range: 1...Int(Int32.max)) { config.replication.lagTimeMaxMs = Int64(v) }
            if let v = r.int(t, "replication.fetch_partition_bytes_max", "fetch_partition_bytes_max", range: 1...Int(Int32.max)) {
                config.replication.fetchPartitionBytesMax = v
            }
            if let v = r.int(t, "replication.fetch_response_bytes_max", "fetch_response_bytes_max", range: 1...Int(Int32.max)) {
                config.replication.fetchResponseBytesMax = v
            }
            if let v = r.int(t, "replication.fetch_wait_max_ms", "fetch_wait_max_ms", range: 0...Int(Int32.max)) { config.replication.fetchWaitMaxMs = Int64(v) }
            if let v = r.int(t, "replication.fetch_backoff_ms", "fetch_backoff_ms", range: 0...Int(Int32.max)) { config.replication.fetchBackoffMs = Int64(v) }
        }
        reader.section(table, "log", keys: ["segment_bytes", "segment_ms", "index_interval_bytes", "retention_bytes",
                                            "retention_ms", "flush", "flush_interval_messages", "flush_interval_ms"]) { r, t in
            if let v = r.int(t, "log.segment_bytes", "segment_bytes", range: 1024...LogConfig.segmentBytesMax) { config.log.segmentBytes = v }
            if let v = r.int(t, "log.segment_ms", "segment_ms", range: 1...Int.max) { config.log.segmentMilliseconds = Int64(v) }
            if let v = r.int(t, "log.index_interval_bytes", "index_interval_bytes", range: 1...Int(Int32.max)) { config.log.indexIntervalBytes = v }
            if let v = r.int(t, "log.retention_bytes", "retention_bytes", range: -1...Int.max) { config.log.retentionBytes = v < 0 ? nil : Int64(v) }
            if let v = r.int(t, "log.retention_ms", "retention_ms", range: -1...Int.max) { config.log.retentionMilliseconds = v < 0 ? nil : Int64(v) }
            let messages = r.int(t, "log.flush_interval_messages", "flush_interval_messages", range: 1...Int.max) ?? 10_000
            let ms = r.int(t, "log.flush_interval_ms", "flush_interval_ms", range: 1...Int.max) ?? 1000
            if let v = r.string(t, "log.flush", "flush") {
                switch v {
                case "none": config.log.flush = .none
                case "always": config.log.flush = .always
                case "interval": config.log.flush = .interval(messages: messages, intervalMilliseconds: Int64(ms))
                default: r.problems.append("log.flush must be \"none\", \"interval\" or \"always\", not \"\(v)\"")
                }
            }
        }
        reader.section(table, "limits", keys: ["request_bytes_max", "connections_max"]) { r, t in
            if let v = r.int(t, "limits.request_bytes_max", "request_bytes_max", range: 1024...Int(Int32.max)) { config.limits.requestBytesMax = v }
            if let v = r.int(t, "limits.connections_max", "connections_max", range: 1...1_000_000) { config.limits.connectionsMax = v }
        }
        reader.section(table, "tls", keys: ["enabled", "certificate", "private_key", "ca", "client_auth", "client_listener"]) { r, t in
            if let v = r.bool(t, "tls.enabled", "enabled") { config.tls.enabled = v }
            if let v = r.string(t, "tls.certificate", "certificate") { config.tls.certificatePath = v }
            if let v = r.string(t, "tls.private_key", "private_key") { config.tls.privateKeyPath = v }
            if let v = r.string(t, "tls.ca", "ca") { config.tls.caBundlePath = v }
            if let v = r.string(t, "tls.client_auth", "client_auth") {
                if let auth = TLS.ClientAuthentication(rawValue: v) { config.tls.clientAuthentication = auth } else {
                    r.problems.append("tls.client_auth must be \"none\", \"optional\" or \"required\", not \"\(v)\"")
                }
            }
            if let v = r.bool(t, "tls.client_listener", "client_listener") { config.tls.clientListener = v }
        }
        reader.section(table, "groups", keys: ["min_session_timeout_ms", "max_session_timeout_ms", "initial_rebalance_delay_ms",
                                               "offsets_retention_minutes", "max_group_size"]) { r, t in
            if let v = r.int(t, "groups.min_session_timeout_ms", "min_session_timeout_ms", range: 1...Int(Int32.max)) {
                config.groups.minSessionTimeoutMs = Int32(v)
            }
            if let v = r.int(t, "groups.max_session_timeout_ms", "max_session_timeout_ms", range: 1...Int(Int32.max)) {
                config.groups.maxSessionTimeoutMs = Int32(v)
            }
            if let v = r.int(t, "groups.initial_rebalance_delay_ms", "initial_rebalance_delay_ms", range: 0...Int(Int32.max)) {
                config.groups.initialRebalanceDelayMs = Int32(v)
            }
            // Bounded so that the retention in milliseconds fits an Int64 with room to spare.
            if let v = r.int(t, "groups.offsets_retention_minutes", "offsets_retention_minutes", range: 1...1_000_000_000) {
                config.groups.offsetsRetentionMinutes = Int64(v)
            }
            if let v = r.int(t, "groups.max_group_size", "max_group_size", range: 1...GroupCoordinator.groupSizeLimit) {
                config.groups.maxGroupSize = v
            }
        }
        for key in table.keys where !["node", "listeners", "cluster", "topics", "replication", "log", "limits", "tls", "groups"].contains(key) {
            reader.problems.append("unknown section or key '\(key)'")
        }
        // Keys that failed to read keep their defaults, so validating what was read still
        // reports every other problem in the same pass.
        let problems = reader.problems + config.validate()
        guard problems.isEmpty else { throw LoadError(problems: problems) }
        self = config
    }
}

/// Collects problems while reading typed values out of TOML tables.
struct TOMLReader {
    var problems: [String] = []

    mutating func section(_ root: TOMLTable, _ name: String, keys: Set<String>, _ body: (inout TOMLReader, TOMLTable) -> Void) {
        guard let value = root[name] else { return }
        guard let table = value.table else {
            problems.append("'\(name)' must be a table ([\(name)])")
            return
        }
        for key in table.keys where !keys.contains(key) {
            problems.append("unknown key '\(name).\(key)'; known: \(keys.sorted().joined(separator: ", "))")
        }
        body(&self, table)
    }

    mutating func int(_ table: TOMLTable, _ path: String, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = table[key] else { return nil }
        guard let v = value.int else { problems.append("\(path) must be an integer, not \(value)"); return nil }
        guard range.contains(v) else { problems.append("\(path) must be in \(range.lowerBound)...\(range.upperBound), not \(v)"); return nil }
        return v
    }

    mutating func string(_ table: TOMLTable, _ path: String, _ key: String) -> String? {
        guard let value = table[key] else { return nil }
        guard let v = value.string else { problems.append("\(path) must be a string, not \(value)"); return nil }
        return v
    }

    mutating func bool(_ table: TOMLTable, _ path: String, _ key: String) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let v = value.bool else { problems.append("\(path) must be true or false, not \(value)"); return nil }
        return v
    }

    mutating func address(_ table: TOMLTable, _ path: String, _ key: String) -> HostPort? {
        guard let s = string(table, path, key) else { return nil }
        guard let v = HostPort(s) else { problems.append("\(path) '\(s)' is not host:port"); return nil }
        return v
    }
}
