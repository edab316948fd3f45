import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice partition-for`: which partition a key lands on, computed offline (or with the
/// partition count read from the cluster with `--topic`).
struct PartitionFor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition-for",
        abstract: "Print the partition a key hashes to: offline with --partitions, or --topic asks the cluster for the count.")

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The record key (UTF-8).")
    var key: String

    @Option(help: "The topic's partition count (no cluster needed).")
    var partitions: Int32?

    @Option(help: "Read the partition count of this topic from the cluster.")
    var topic: TopicArgument?

    @Option(help: "The key hasher: \(KeyHasherKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var hasher = HasherArgument(.murmur2)

    func validate() throws {
        switch (partitions, topic) {
        case (nil, nil): throw ValidationError("Give --partitions N (offline) or --topic T (asks the cluster).")
        case (.some, .some): throw ValidationError("Give --partitions or --topic, not both.")
        case (.some(let count), nil) where count <= 0: throw ValidationError("--partitions must be at least 1.")
        default: break
        }
    }

    func run() async throws {
        var count = partitions ?? 0
        if let topic {
            count = try await cluster.withClient { client in
                let metadata = try await client.metadata(refresh: true)
                guard let known = metadata.partitionCount(of: topic.name) else { throw SluiceClientError.unknownTopic(topic.name) }
                return Int32(clamping: known)
            }
        }
        let partition = hasher.kind.hasher.partition(forKey: key, count: count)
        if output.isJSON {
            try output.printJSON(Answer(key: key, partition: partition.rawValue, partitions: count, hasher: hasher.kind.rawValue,
                                        topic: topic?.name.rawValue))
        } else {
            print(partition)
        }
    }

    struct Answer: Encodable {
        var key: String
        var partition: Int32
        var partitions: Int32
        var hasher: String
        @Nullable var topic: String?
    }
}
