import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice topic add-partitions NAME --count N`: estimates how many recent keys would move to
/// another partition, then grows the topic only with `--yes`.
struct TopicAddPartitions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-partitions",
        abstract: "Grow a topic to --count partitions, after estimating how many keys would move.",
        discussion: """
            Reads the last --sample records of each partition, and counts how many of their distinct keys \
            hash to a different partition under the new count (with --hasher, the topic's producers' hasher). \
            New records of a moved key go to its new partition while its old records stay behind, so per-key \
            order across the change is lost. Nothing changes without --yes.
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument
    @Option(help: "The new total number of partitions.") var count: Int32
    @Option(help: "The hasher the topic's producers use.") var hasher = HasherArgument(.murmur2)
    @Option(help: "Recent records to read from each partition for the estimate.") var sample = 1000
    @Flag(help: "Add the partitions (without it, only the estimate is printed).") var yes = false

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count is the new total number of partitions and must be at least 1.") }
        guard (0...KeySampler.perPartitionMax).contains(sample) else {
            throw ValidationError("--sample must lie in 0…\(KeySampler.perPartitionMax).")
        }
    }

    func run() async throws {
        let outcome = try await cluster.withClient { client -> Outcome in
            let description = try await client.admin.describeTopic(topic.name)
            let current = description.partitions.count
            guard Int(count) > current else {
                throw CLIError("topic '\(topic.name)' already has \(current) partition(s); --count is the new total "
                               + "and must be more than \(current) (partitions can only be added)")
            }
            let keys = try await KeySampler(client: client, perPartition: sample).sample(description)
            let estimate = KeyMoveEstimate(keys: keys, hasher: hasher.kind, from: current, to: Int(count))
            if yes { try await client.admin.addPartitions(to: topic.name, totalCount: count) }
            return Outcome(topic: topic.name.rawValue, estimate: estimate, applied: yes)
        }
        if output.isJSON {
            try output.printJSON(outcome)
            return
        }
        let estimate = outcome.estimate
        print("""
            sampled \(estimate.sampledRecords) keyed record(s) with \(estimate.distinctKeys) distinct key(s) \
            (the last \(sample) records of each partition)
            """)
        if estimate.distinctKeys > 0 {
            print("""
                \(estimate.movedKeys) of \(estimate.distinctKeys) key(s) (\(Percent(Double(estimate.movedKeys) / Double(estimate.distinctKeys)))) \
                — \(estimate.movedRecords) of \(estimate.sampledRecords) record(s) — would move to another partition going from \
                \(estimate.fromPartitions) to \(estimate.toPartitions) partitions under \(estimate.hasher); new records of a moved key \
                land in its new partition while its old ones stay, so per-key order across the change is lost
                """)
        }
        if outcome.applied {
            print("topic \(topic.name) now has \(count) partitions")
        } else {
            print("nothing changed: re-run with --yes to add the partitions")
        }
    }

    /// The JSON document of `topic add-partitions`.
    struct Outcome: Encodable {
        var topic: String
        var estimate: KeyMoveEstimate
        /// Whether the partitions were added (`--yes`).
        var applied: Bool
    }
}

/// Reads the last records of every partition to collect the keys a topic holds now.
struct KeySampler {
    /// The most records read per partition.
    static let perPartitionMax = 100_000
    /// Longest the sample may take without a record arriving.
    static let idleTimeout: Duration = .seconds(5)

    var client: SluiceClient
    var perPartition: Int

    /// Key → number of sampled records with it (records without a key are left out).
    func sample(_ topic: TopicDescription) async throws -> [[UInt8]: Int] {
        // Each partition with records: where the sample starts and the end it reads up to.
        var ranges: [TopicPartition: (from: Offset, end: Offset)] = [:]
        for partition in topic.partitions {
            guard perPartition > 0, let start = partition.logStartOffset, let end = partition.logEndOffset,
                  start < end else { continue }
            ranges[TopicPartition(topic.name, partition.index)] = (max(start, end.advanced(by: -Int64(perPartition))), end)
        }
        guard !ranges.isEmpty else { return [:] }
        let consumer = client.makeConsumer(ConsumerOptions())
        do {
            try await consumer.assign(ranges.keys.sorted(), from: .earliest)
            for (partition, range) in ranges { try await consumer.seek(partition, to: .offset(range.from)) }
        } catch {
            await consumer.close()
            throw error
        }
        var remaining = Dictionary(uniqueKeysWithValues: ranges.map { ($0.key.partition, $0.value.end) })
        var keys: [[UInt8]: Int] = [:]
        _ = try await ConsumeSession(consumer: consumer, count: nil, idleTimeout: Self.idleTimeout).run { record in
            if let key = record.keyBytes { keys[key, default: 0] += 1 }
            if let end = remaining[record.partition], record.offset.advanced(by: 1) >= end {
                remaining[record.partition] = nil
            }
            return !remaining.isEmpty
        }
        return keys
    }
}
