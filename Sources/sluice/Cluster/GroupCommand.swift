import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice group list|describe|delete`: consumer groups, their members, and their lag.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List consumer groups, describe one's members, assignment, committed offsets and lag, reset its offsets, or delete one.",
        subcommands: [List.self, Describe.self, Delete.self, ResetOffsets.self])

    /// `sluice group delete GROUP…`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete empty consumer groups and their committed offsets (a group with members is refused).")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The groups to delete.") var groups: [String]

        func validate() throws {
            if groups.isEmpty { throw ValidationError("Name at least one group to delete.") }
        }

        func run() async throws {
            try await cluster.withClient { client in
                for group in groups { try await client.admin.deleteGroup(group) }
            }
            if output.isJSON {
                try output.printJSON(["deleted": groups])
            } else {
                for group in groups { print("deleted group \(group)") }
            }
        }
    }

    /// `sluice group list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the consumer groups of every node.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let groups = try await cluster.withClient { client in try await client.admin.listGroups() }
            if output.isJSON {
                try output.printJSON(["groups": groups.map { ["group": $0.groupID, "protocol_type": $0.protocolType] }])
            } else {
                for group in groups { print(group.groupID) }
            }
        }
    }

    /// `sluice group describe GROUP`.
    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group's state, members, assignment, and per partition the committed offset, log end offset and lag.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String

        func run() async throws {
            let description = try await cluster.withClient { client in try await client.admin.describeGroup(group) }
            if output.isJSON {
                try output.printJSON(Described(description))
                return
            }
            let assignor = description.protocolName.isEmpty ? "" : ", assignor \(description.protocolName)"
            print("group \(description.groupID): \(description.state)\(assignor), \(description.members.count) member(s), total lag \(description.totalLag)")
            if !description.members.isEmpty {
                var members = TextTable("MEMBER", "CLIENT", "HOST", "ASSIGNMENT")
                for member in description.members {
                    members.add(member.memberID, member.clientID, member.clientHost,
                                member.assignment.map(\.description).joined(separator: ","))
                }
                print(members.rendered)
            }
            var partitions = TextTable("TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "MEMBER")
            for entry in description.partitions {
                partitions.add(entry.partition.topic.rawValue, "\(entry.partition.partition)",
                               entry.committedOffset.map(\.description) ?? "-", entry.logEndOffset.map(\.description) ?? "-",
                               entry.lag.map(\.description) ?? "-", entry.memberID ?? "-")
            }
            print(partitions.rendered)
        }

        /// The JSON document of `group describe`.
        struct Described: Encodable {
            struct Member: Encodable {
                var memberId: String
                @Nullable var groupInstanceId: String?
                var clientId: String
                var clientHost: String
                var subscribedTopics: [String]
                var assignment: [TopicPartitionJSON]
            }
            struct Partition: Encodable {
                var topic: String
                var partition: Int32
                @Nullable var committedOffset: Int64?
                @Nullable var logEndOffset: Int64?
                @Nullable var lag: Int64?
                @Nullable var memberId: String?
            }
            var group: String
            var state: String
            var protocolType: String
            var assignor: String
            var totalLag: Int64
            var members: [Member]
            var partitions: [Partition]

            init(_ description: ConsumerGroupDescription) {
                group = description.groupID
                state = description.state
                protocolType = description.protocolType
                assignor = description.protocolName
                totalLag = description.totalLag
                members = description.members.map {
                    Member(memberId: $0.memberID, groupInstanceId: $0.groupInstanceID, clientId: $0.clientID,
                           clientHost: $0.clientHost, subscribedTopics: $0.subscribedTopics.map(\.rawValue),
                           assignment: $0.assignment.map(TopicPartitionJSON.init))
                }
                partitions = description.partitions.map {
                    Partition(topic: $0.partition.topic.rawValue, partition: $0.partition.partition.rawValue,
                              committedOffset: $0.committedOffset?.rawValue, logEndOffset: $0.logEndOffset?.rawValue,
                              lag: $0.lag, memberId: $0.memberID)
                }
            }
        }
    }
}

/// A topic partition in JSON: `{"topic": …, "partition": …}`.
struct TopicPartitionJSON: Encodable {
    var topic: String
    var partition: Int32

    init(_ partition: TopicPartition) {
        topic = partition.topic.rawValue
        self.partition = partition.partition.rawValue
    }
}
