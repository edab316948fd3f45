import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice topic alter-config NAME --set key=value --delete key`: changes a topic's config
/// overrides at once, without a restart (IncrementalAlterConfigs).
struct TopicAlterConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alter-config",
        abstract: "Set or reset a topic's configs (e.g. retention.ms); running partitions pick them up at once.")

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument
    @Option(name: .customLong("set"), help: ArgumentHelp("A config to set, key=value (repeatable).", valueName: "key=value"))
    var sets: [String] = []
    @Option(name: .customLong("delete"), help: ArgumentHelp("A config to reset to the cluster default (repeatable).", valueName: "key"))
    var deletes: [String] = []
    @Flag(help: "Only check the change; change nothing.") var validateOnly = false

    func validate() throws {
        if sets.isEmpty && deletes.isEmpty { throw ValidationError("Give at least one --set key=value or --delete key.") }
        _ = try parsedSets()
    }

    func parsedSets() throws -> [String: String] {
        var result: [String: String] = [:]
        for entry in sets {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--set '\(entry)' is not key=value (e.g. --set retention.ms=86400000).")
            }
            result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return result
    }

    func run() async throws {
        let sets = try parsedSets()
        try await cluster.withClient { client in
            try await client.admin.alterTopicConfigs(topic.name, set: sets, delete: deletes, validateOnly: validateOnly)
        }
        let verb = validateOnly ? "would change" : "changed"
        if output.isJSON {
            try output.printJSON(Altered(topic: topic.name.rawValue, set: sets, deleted: deletes, validateOnly: validateOnly))
        } else {
            let parts = sets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + deletes.map { "\($0) (default)" }
            print("\(verb) topic \(topic.name): \(parts.joined(separator: ", "))")
        }
    }

    struct Altered: Encodable {
        var topic: String
        var set: [String: String]
        var deleted: [String]
        var validateOnly: Bool
    }
}

/// `sluice topic delete-records NAME --before OFFSET [--partition N]…`: moves the log start of
/// the partitions (all of them unless named) to OFFSET, on every replica (DeleteRecords).
struct TopicDeleteRecords: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-records",
        abstract: "Delete a topic's records below an offset (the new log start); -1 deletes up to the high watermark.")

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument
    @Option(help: "The first offset to keep, or -1 for the high watermark.") var before: Int64
    @Option(name: .customLong("partition"), help: "A partition (repeatable; default: every partition).")
    var partitions: [Int32] = []

    func validate() throws {
        if before < -1 { throw ValidationError("--before must be an offset, or -1 for the high watermark.") }
        if partitions.contains(where: { $0 < 0 }) { throw ValidationError("--partition must not be negative.") }
    }

    func run() async throws {
        let starts = try await cluster.withClient { client -> [TopicPartition: Offset] in
            let indexes: [PartitionIndex]
            if partitions.isEmpty {
                indexes = try await client.admin.describeTopic(topic.name).partitions.map(\.index)
            } else {
                indexes = partitions.map(PartitionIndex.init)
            }
            let offsets = Dictionary(uniqueKeysWithValues: indexes.map { (TopicPartition(topic.name, $0), Offset(before)) })
            return try await client.admin.deleteRecords(before: offsets)
        }
        let sorted = starts.sorted { $0.key < $1.key }
        if output.isJSON {
            try output.printJSON(["partitions": sorted.map { Deleted(partition: $0.key.partition.rawValue, logStartOffset: $0.value.rawValue) }])
        } else {
            for (partition, start) in sorted { print("\(partition): log start now \(start)") }
        }
    }

    struct Deleted: Encodable {
        var partition: Int32
        var logStartOffset: Int64
    }
}
