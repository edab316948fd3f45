import Foundation
@testable import SluiceBroker
import SluiceCore
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

    @Test func theProductionSampleLoads() throws {
        let config = try NodeConfig(toml: Self.configFile("production.toml"))
        #expect(config.cluster.voters.map(\.id) == [1, 2, 3])
        #expect(config.topics.autoCreate == false)
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
