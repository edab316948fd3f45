import ArgumentParser
import SluiceCore

/// `sluice-server`: runs one Sluice node.
@main
struct SluiceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-server",
        abstract: "Run a Sluice broker node (Kafka wire protocol, Raft metadata log).",
        discussion: """
            With no arguments, runs a single-node development broker on 127.0.0.1:9092 with \
            data under ./data/dev. With --config FILE, reads the node's TOML configuration \
            (every key is documented with its default in Config/sluice.toml).
            """,
        version: SluiceVersion.current)

    @Option(name: .long, help: "Path to the node's TOML configuration file.")
    var config: String?

    func run() async throws {
        print("sluice-server \(SluiceVersion.current): the broker node is not built yet (see docs/ARCHITECTURE.md).")
    }
}
