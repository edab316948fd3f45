@testable import SluiceBroker
import Testing

@Suite struct GroupConfigTests {
    @Test func groupKeysAreRead() throws {
        let config = try NodeConfig(toml: """
            [groups]
            min_session_timeout_ms = 1000
            max_session_timeout_ms = 60000
            initial_rebalance_delay_ms = 0
            offsets_retention_minutes = 60
            max_group_size = 5
            """)
        #expect(config.groups == .init(minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60000, initialRebalanceDelayMs: 0,
                                       offsetsRetentionMinutes: 60, maxGroupSize: 5))
    }

    @Test func badGroupKeysAreEveryOneReported() {
        #expect {
            try NodeConfig(toml: """
                [groups]
                min_session_timeout_ms = 0
                initial_rebalance_delay_ms = -1
                offsets_retention_minutes = "a week"
                max_group_size = 0
                colour = "blue"
                """)
        } throws: { error in
            let joined = (error as? NodeConfig.LoadError)?.problems.joined(separator: "\n") ?? ""
            return joined.contains("groups.min_session_timeout_ms must be in") && joined.contains("groups.initial_rebalance_delay_ms")
                && joined.contains("groups.offsets_retention_minutes must be an integer") && joined.contains("groups.max_group_size")
                && joined.contains("groups.colour")
        }
        var config = NodeConfig()
        config.groups.minSessionTimeoutMs = 10_000
        config.groups.maxSessionTimeoutMs = 5_000
        #expect(config.validate().contains { $0.contains("groups.max_session_timeout_ms (5000) must not be below") })
    }
}
