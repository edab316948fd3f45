import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice topic …`: create, list, describe, delete and grow topics, change their configs and
/// delete their oldest records.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Create, list, describe, delete topics, add partitions, alter configs and delete records.",
        subcommands: [Create.self, List.self, TopicDescribe.self, Delete.self, TopicAddPartitions.self,
                      TopicAlterConfig.self, TopicDeleteRecords.self])

    /// `sluice topic create NAME`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topic's name.") var topic: TopicArgument
        @Option(help: "Number of partitions (default: the cluster's).") var partitions: Int32?
        @Option(help: "Copies of each partition (default: the cluster's).") var replicationFactor: Int16?
        @Option(name: .customLong("config"), help: ArgumentHelp("A topic config, key=value (repeatable).", valueName: "key=value"))
        var configs: [String] = []

        func validate() throws {
            if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1.") }
            if let replicationFactor, replicationFactor < 1 { throw ValidationError("--replication-factor must be at least 1.") }
            _ = try parsedConfigs()
        }

        func parsedConfigs() throws -> [String: String] {
            var result: [String: String] = [:]
            for entry in configs {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                    throw ValidationError("--config '\(entry)' is not key=value (e.g. --config retention.ms=86400000).")
                }
                result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
            return result
        }

        func run() async throws {
            let configs = try parsedConfigs()
            let description = try await cluster.withClient { client in
                try await client.admin.createTopic(topic.name, partitionCount: partitions ?? -1,
                                                   replicationFactor: replicationFactor ?? -1, configs: configs)
                return try await client.admin.describeTopic(topic.name)
            }
            let replication = description.partitions.first?.replicas.count ?? 0
            if output.isJSON {
                try output.printJSON(CreatedTopic(topic: topic.name.rawValue, partitions: description.partitions.count,
                                                  replicationFactor: replication, configs: configs))
            } else {
                print("created topic \(topic.name) with \(description.partitions.count) partition(s), replication factor \(replication)")
            }
        }

        struct CreatedTopic: Encodable {
            var topic: String
            var partitions: Int
            var replicationFactor: Int
            var configs: [String: String]
        }
    }

    /// `sluice topic list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topics.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Include internal topics.") var includeInternal = false

        func run() async throws {
            let metadata = try await cluster.withClient { client in try await client.metadata(refresh: true) }
            let topics = metadata.topics.values.filter { includeInternal || !$0.isInternal }.sorted { $0.name < $1.name }
            if output.isJSON {
                try output.printJSON(Listed(topics: topics.map {
                    .init(name: $0.name.rawValue, partitions: $0.partitions.count, internal: $0.isInternal)
                }))
            } else {
                for topic in topics { print(topic.name) }
            }
        }

        struct Listed: Encodable {
            struct Topic: Encodable {
                var name: String
                var partitions: Int
                var `internal`: Bool
            }
            var topics: [Topic]
        }
    }

    /// `sluice topic delete NAME…`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics and every record in them.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topics to delete.") var topics: [TopicArgument]

        func validate() throws {
            if topics.isEmpty { throw ValidationError("Name at least one topic to delete.") }
        }

        func run() async throws {
            let names = topics.map(\.name)
            try await cluster.withClient { client in try await client.admin.deleteTopics(names) }
            if output.isJSON {
                try output.printJSON(["deleted": names.map(\.rawValue)])
            } else {
                for name in names { print("deleted topic \(name)") }
            }
        }
    }
}
