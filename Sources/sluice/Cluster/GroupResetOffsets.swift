import ArgumentParser
import SluiceClient
import SluiceCore

extension GroupCommand {
    /// `sluice group reset-offsets GROUP (--topic T [--partition N]… | --all-topics) --to-… [--execute]`.
    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move an empty group's committed offsets to the earliest, latest, an offset, a time, or by a shift.",
            discussion: """
                Prints the plan (partition, current offset, new offset) and commits it only with --execute; \
                without it (or with --dry-run) nothing changes. The group must have no members: stop its \
                consumers first, or their next commit undoes the reset. Offsets outside a partition's log move \
                to its nearer end.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String
        @Option(help: "A topic whose partitions to reset (with --partition: only those).") var topic: TopicArgument?
        @Option(name: .customLong("partition"), help: "A partition of --topic (repeatable).") var partitions: [Int32] = []
        @Flag(help: "Every partition the group has committed offsets for.") var allTopics = false
        @Flag(help: "To each partition's log start.") var toEarliest = false
        @Flag(help: "To each partition's log end.") var toLatest = false
        @Option(help: "To this offset.") var toOffset: Int64?
        @Option(help: "To the first record at or after this ISO-8601 time (e.g. 2026-12-01T09:00:00Z).") var toDatetime: String?
        @Option(parsing: .unconditional, help: "Move the committed offsets by this many (negative: back, e.g. --shift-by -10).")
        var shiftBy: Int64?
        @Flag(help: "Commit the new offsets (without it the plan is only printed).") var execute = false
        @Flag(help: "Only print the plan (the default).") var dryRun = false

        func validate() throws {
            let targets = [toEarliest, toLatest, toOffset != nil, toDatetime != nil, shiftBy != nil].filter { $0 }.count
            if targets != 1 {
                throw ValidationError("Give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by.")
            }
            if (topic == nil) == !allTopics { throw ValidationError("Give either --topic or --all-topics.") }
            if !partitions.isEmpty && topic == nil { throw ValidationError("--partition needs --topic.") }
            if partitions.contains(where: { $0 < 0 }) { throw ValidationError("--partition must not be negative.") }
            if let toOffset, toOffset < 0 { throw ValidationError("--to-offset must not be negative.") }
            if let toDatetime, ISO8601Time.epochMilliseconds(toDatetime) == nil {
                throw ValidationError("--to-datetime '\(toDatetime)' is not an ISO-8601 time such as 2026-12-01T09:00:00Z.")
            }
            if execute && dryRun { throw ValidationError("--execute and --dry-run contradict each other.") }
        }

        var target: OffsetResetTarget {
            if toEarliest { return .earliest }
            if toLatest { return .latest }
            if let toOffset { return .offset(Offset(toOffset)) }
            if let toDatetime { return .timestamp(ISO8601Time.epochMilliseconds(toDatetime)!) }
            return .shift(shiftBy ?? 0)
        }

        func run() async throws {
            let plan = try await cluster.withClient { client -> [GroupOffsetReset] in
                let targets: [TopicPartition]
                if let topic {
                    targets = partitions.isEmpty
                        ? try await client.admin.describeTopic(topic.name).partitions.map { TopicPartition(topic.name, $0.index) }
                        : partitions.map { TopicPartition(topic.name, PartitionIndex($0)) }
                } else {
                    targets = try await client.admin.committedOffsets(group).keys.sorted()
                }
                return try await client.admin.resetGroupOffsets(group, partitions: targets, to: target, dryRun: !execute)
            }
            if output.isJSON {
                try output.printJSON(Report(group: group, executed: execute, partitions: plan.map(Row.init)))
                return
            }
            var table = TextTable("TOPIC", "PARTITION", "CURRENT", "NEW")
            for entry in plan {
                table.add(entry.partition.topic.rawValue, "\(entry.partition.partition)",
                          entry.previous.map { "\($0)" } ?? "-", "\(entry.new)")
            }
            print(table.rendered)
            print(execute ? "committed the new offsets of \(plan.count) partition(s) for group \(group)"
                          : "dry run: nothing committed (add --execute to commit these offsets)")
        }

        struct Report: Encodable {
            var group: String
            var executed: Bool
            var partitions: [Row]
        }

        struct Row: Encodable {
            var topic: String
            var partition: Int32
            var current: Int64?
            var new: Int64
            init(_ r: GroupOffsetReset) {
                topic = r.partition.topic.rawValue
                partition = r.partition.partition.rawValue
                current = r.previous?.rawValue
                new = r.new.rawValue
            }
        }
    }
}
