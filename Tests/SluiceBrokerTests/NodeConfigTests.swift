import Foundation
@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import Testing

@Suite struct NodeConfigTests {
    /// The repository's config files, found from this source file.
    static func configFile(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("Config").appendingPathComponent(name), encoding: .utf8)
    }

    @Test func theDocumentedDefaultsAreTheDefaults() throws {
        #expect(try NodeConfig(toml: Self.configFile("sluice.toml")) == NodeConfig())
    }

    @Test func topicDefaultsComeFromTheTopicsAndLogSections() {
        var config = NodeConfig()
        config.topics.minInsyncReplicas = 2
        config.log.retentionMilliseconds = nil
        config.log.segmentBytes = 4096
        config.log.flush = .always
        let defaults = config.topicConfigDefaults
        #expect(defaults[.minInsyncReplicas] == "2")
        #expect(defaults[.retentionMs] == "-1")
        #expect(defaults[.segmentBytes] == "4096")
        #expect(defaults[.flushPolicy] == "always")
        #expect(defaults[.uncleanLeaderElectionEnable] == "false")
    }

    @Test func theProductionSampleLoads() throws {
        let config = try NodeConfig(toml: Self.configFile("production.toml"))
        #expect(config.cluster.voters.map(\.id) == [1, 2, 3])
        #expect(config.topics.autoCreate == false)
        #expect(config.topics.defaultReplicationFactor == 3 && config.topics.minInsyncReplicas == 2)
    }

    @Test func replicationSettingsAreReadAndChecked() throws {
        let config = try NodeConfig(toml: """
            [replication]
            lag_time_max_ms = 4000
            fetch_wait_max_ms = 250
            fetch_partition_bytes_max = 65536
            fetch_response_bytes_max = 1048576
            fetch_backoff_ms = 50
            """)
        #expect(config.replication == NodeConfig.Replication(lagTimeMaxMs: 4000, fetchPartitionBytesMax: 65536,
                                                             fetchResponseBytesMax: 1 << 20, fetchWaitMaxMs: 250, fetchBackoffMs: 50))
        #expect {
            try NodeConfig(toml: """
                [replication]
                lag_time_max_ms = 500
                fetch_wait_max_ms = 600
                fetch_partition_bytes_max = 100
                """)
        } throws: { error in
            let problems = (error as? NodeConfig.LoadError)?.problems.joined(separator: "\n") ?? ""
            return problems.contains("replication.fetch_wait_max_ms must be in 0..<lag_time_max_ms")
                && problems.contains("replication.fetch_partition_bytes_max must be in 1024")
        }
    }

    @Test func brokerLeaseAndSourceAddressAreReadAndChecked() throws {
        let config = try NodeConfig(toml: """
            [listeners]
            inter_node_source = "127.0.0.2"
            [cluster]
            broker_session_timeout_ms = 3000
            broker_heartbeat_interval_ms = 300
            controlled_shutdown_timeout_ms = 0
            auto_leader_rebalance = false
            leader_imbalance_check_interval_ms = 2000
            leader_imbalance_per_broker_percentage = 0
            """)
        #expect(!config.cluster.autoLeaderRebalance && config.cluster.leaderImbalanceCheckIntervalMs == 2000
                && config.cluster.leaderImbalancePerBrokerPercentage == 0)
        #expect(config.listeners.interNodeSource == "127.0.0.2")
        #expect(config.cluster.controlledShutdownTimeoutMs == 0 && NodeConfig().cluster.controlledShutdownTimeoutMs == 30_000)
        #expect(config.cluster.brokerSessionTimeoutMs == 3000 && config.cluster.brokerHeartbeatIntervalMs == 300)
        #expect {
            try NodeConfig(toml: """
                [listeners]
                inter_node_source = "node2.example"
                [cluster]
                broker_session_timeout_ms = 1000
                broker_heartbeat_interval_ms = 800
                """)
        } throws: { error in
            let problems = (error as? NodeConfig.LoadError)?.problems.joined(separator: "\n") ?? ""
            return problems.contains("listeners.inter_node_source must be an IP address")
                && problems.contains("must be at least twice cluster.broker_heartbeat_interval_ms")
        }
    }

    @Test func everyProblemIsReportedAtOnce() {
        let text = """
            [node]
            id = -3
            colour = "blue"
            [listeners]
            client = "nowhere"
            [topics]
            default_partitions = 0
            default_replication_factor = 3
            min_insync_replicas = 5
            [log]
            flush = "sometimes"
            [mystery]
            """
        #expect {
            try NodeConfig(toml: text)
        } throws: { error in
            guard let problems = (error as? NodeConfig.LoadError)?.problems else { return false }
            let joined = problems.joined(separator: "\n")
            return problems.count >= 5 && joined.contains("node.id") && joined.contains("colour")
                && joined.contains("listeners.client") && joined.contains("default_partitions")
                && joined.contains("log.flush") && joined.contains("mystery")
                && joined.contains("min_insync_replicas 5 is more than")  // a value problem beside the read errors
        }
        #expect(throws: NodeConfig.LoadError.self) { try NodeConfig(toml: "not = [valid") }
    }

    @Test func votersMustIncludeThisNodeAndBeUnique() {
        var config = NodeConfig()
        config.cluster.voters = [.init(id: 2, address: HostPort(host: "127.0.0.2", port: 9093)),
                                 .init(id: 2, address: HostPort(host: "127.0.0.3", port: 9093))]
        let problems = config.validate()
        #expect(problems.contains { $0.contains("twice") })
        #expect(problems.contains { $0.contains("does not include this node") })
    }
}

@Suite struct NodeConfigTLSTests {
    @Test func tlsKeysAreRead() throws {
        let config = try NodeConfig(toml: """
            [tls]
            enabled = true
            certificate = "n.crt"
            private_key = "n.key"
            ca = "ca.crt"
            client_auth = "required"
            client_listener = true
            """)
        #expect(config.tls == .init(enabled: true, certificatePath: "n.crt", privateKeyPath: "n.key", caBundlePath: "ca.crt",
                                    clientAuthentication: .required, clientListener: true))
        let production = try NodeConfig(toml: NodeConfigTests.configFile("production.toml"))
        #expect(production.tls.enabled && production.tls.clientAuthentication == .required)
    }

    @Test func enabledTLSNeedsItsFilesAndAClientListenerForClientAuth() {
        #expect {
            try NodeConfig(toml: """
                [tls]
                enabled = true
                client_auth = "sometimes"
                colour = "blue"
                """)
        } throws: { error in
            let joined = (error as? NodeConfig.LoadError)?.problems.joined(separator: "\n") ?? ""
            return joined.contains("tls.client_auth must be") && joined.contains("tls.colour")
        }
        var config = NodeConfig()
        config.tls.enabled = true
        config.tls.clientListener = false
        config.tls.clientAuthentication = .required
        let problems = config.validate()
        #expect(problems.contains("tls.certificate must be set when tls.enabled = true"))
        #expect(problems.contains("tls.private_key must be set when tls.enabled = true"))
        #expect(problems.contains("tls.ca must be set when tls.enabled = true"))
        #expect(problems.contains { $0.contains("needs tls.client_listener = true") })
        // Disabled: the keys may stay empty.
        #expect(NodeConfig().validate().isEmpty)
    }

    @Test func unusableFilesAreEveryOneReportedBeforeTheNodeStarts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-nodetls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a certificate".write(toFile: dir + "/node.crt", atomically: true, encoding: .utf8)
        var tls = NodeConfig.TLS()
        tls.enabled = true
        tls.certificatePath = dir + "/node.crt"
        tls.privateKeyPath = dir + "/node.key"
        tls.caBundlePath = dir + "/ca.crt"
        #expect {
            _ = try NodeTLS(tls)
        } throws: { error in
            guard let problems = (error as? NodeTLS.LoadError)?.problems else { return false }
            // The same problem from the three contexts is reported once.
            return problems.count == 3 && problems.contains { $0.contains("node.crt is not PEM") }
                && problems.contains { $0.contains("node.key does not exist") }
                && problems.contains { $0.contains("ca.crt does not exist") }
        }
        #expect(try NodeTLS(NodeConfig.TLS()).interNodeHandlerFactory == nil)
    }
}
