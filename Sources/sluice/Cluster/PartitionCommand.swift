import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice partition …`: leadership of partitions.
struct PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Manage partition leadership.",
        subcommands: [ElectLeaders.self])

    /// `sluice partition elect-leaders [--topic T [--partition N]…] [--unclean --yes]`.
    struct ElectLeaders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "elect-leaders",
            abstract: "Move leadership back to the preferred replicas, or (--unclean) elect a leader for leaderless partitions.",
            discussion: """
                A preferred election hands each partition to its first replica where that replica is in sync; the \
                controller also does this by itself (cluster.auto_leader_rebalance). Without --topic every partition \
                is considered and only those that changed or could not are listed. An unclean election may lose \
                acknowledged records: it elects a replica outside the in-sync set when no in-sync replica is alive, \
                and so needs --yes.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this topic's partitions.") var topic: TopicArgument?
        @Option(name: .customLong("partition"), help: "A partition of --topic (repeatable; default: all of them).")
        var partitions: [Int32] = []
        @Flag(help: "Elect a leader for leaderless partitions even outside the in-sync replicas (may lose acknowledged records).")
        var unclean = false
        @Flag(help: "Confirm an unclean election.") var yes = false

        func validate() throws {
            if !partitions.isEmpty && topic == nil { throw ValidationError("--partition needs --topic.") }
            if partitions.contains(where: { $0 < 0 }) { throw ValidationError("--partition must not be negative.") }
            if unclean && !yes {
                throw ValidationError("An unclean election may lose acknowledged records; add --yes to go ahead.")
            }
        }

        func run() async throws {
            let results = try await cluster.withClient { client -> [LeaderElectionResult] in
                var targets: [TopicPartition]?
                if let topic {
                    let indexes = partitions.isEmpty
                        ? try await client.admin.describeTopic(topic.name).partitions.map(\.index)
                        : partitions.map(PartitionIndex.init)
                    targets = indexes.map { TopicPartition(topic.name, $0) }
                }
                return try await client.admin.electLeaders(unclean ? .unclean : .preferred, partitions: targets)
            }
            if output.isJSON {
                try output.printJSON(["partitions": results.map(Row.init)])
                return
            }
            if results.isEmpty { print("no partition needed a new leader") }
            for r in results { print("\(r.partition): \(Row(r).text)") }
            if results.contains(where: { if case .failed = $0.outcome { true } else { false } }) { throw ExitCode(1) }
        }

        struct Row: Encodable {
            var topic: String
            var partition: Int32
            var result: String
            var error: String?
            init(_ r: LeaderElectionResult) {
                topic = r.partition.topic.rawValue
                partition = r.partition.partition.rawValue
                switch r.outcome {
                case .elected: result = "elected"
                case .notNeeded: result = "not-needed"
                case .failed(let why): result = "failed"; error = why
                }
            }
            var text: String {
                switch result {
                case "elected": "new leader elected"
                case "not-needed": "already led by the replica the election would pick"
                default: "not elected: \(error ?? "")"
                }
            }
        }
    }
}
