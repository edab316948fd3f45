import ArgumentParser
import SluiceCore

/// `sluice`: the command-line tool, built on the client library only (DESIGN §2.5).
///
/// Every command that talks to a cluster takes `--bootstrap` (or `SLUICE_BOOTSTRAP`) and the TLS
/// flags (``ClusterOptions``); every command that prints data takes `--output text|json`
/// (``OutputOptions``). Failures print one sentence saying what to do and exit non-zero
/// (``CLIError``).
@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Operate a Sluice cluster: topics, producing, consuming, groups and benchmarks.",
        discussion: """
            The cluster is reached through --bootstrap host:port[,host:port…] or the SLUICE_BOOTSTRAP \
            environment variable (default \(ClusterOptions.defaultBootstrap)).
            """,
        version: SluiceVersion.current,
        subcommands: [
            TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupCommand.self,
            ClusterCommand.self, PartitionCommand.self, PartitionFor.self, BenchCommand.self,
        ])
}
