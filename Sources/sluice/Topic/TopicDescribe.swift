import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice topic describe NAME`: where each partition lives and how the records spread.
struct TopicDescribe: AsyncParsableCommand {
    /// Why there is no size column: said in help and in every output.
    static let sizeNote = "partition sizes in bytes are not shown: the nodes serve no API that reports them "
        + "(DescribeLogDirs is not implemented); record counts (log end − log start offset) stand in for size"

    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show each partition's leader, epoch, replicas, ISR, offline replicas, record count and share, and flag problems.",
        discussion: """
            A partition is flagged UNDER-REPLICATED when its ISR is smaller than its replica list (a replica \
            fell behind or its node is down), and OFFLINE when it has no leader (no reads or writes until one \
            is elected). Offline replicas are those whose node is fenced or not registered. \
            A partition is flagged hot when its share of the topic's records is more than \
            \(Decimal1(PartitionShares.hotFactor))× the mean share; the topic is flagged skewed with a hot \
            partition, an empty partition beside full ones, or a max/min ratio above \(Decimal1(PartitionShares.ratioMax)). \
            Note: \(sizeNote).
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument

    func run() async throws {
        let description = try await cluster.withClient { client in try await client.admin.describeTopic(topic.name) }
        let shares = PartitionShares(description.partitions.map { ($0.index, $0.recordCount) })
        if output.isJSON {
            try output.printJSON(Described(description, shares))
            return
        }
        let underReplicated = description.partitions.filter(\.isUnderReplicated).count
        let offline = description.partitions.filter(\.isOffline).count
        print("topic \(description.name): \(description.partitions.count) partition(s), \(shares.totalRecords) record(s), "
              + "\(underReplicated) under-replicated, \(offline) offline")
        var table = TextTable("PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE", "START", "END", "RECORDS", "SHARE", "FLAGS")
        for (partition, entry) in zip(description.partitions, shares.entries) {
            table.add("\(partition.index)", partition.leader.map(\.description) ?? "none", "\(partition.leaderEpoch)",
                      partition.replicas.map(\.description).joined(separator: ","),
                      partition.inSyncReplicas.map(\.description).joined(separator: ","),
                      partition.offlineReplicas.isEmpty ? "-" : partition.offlineReplicas.map(\.description).joined(separator: ","),
                      partition.logStartOffset.map(\.description) ?? "?", partition.logEndOffset.map(\.description) ?? "?",
                      entry.records.map(\.description) ?? "?", entry.share.map { Percent($0).description } ?? "-",
                      Self.flags(partition, hot: entry.isHot))
        }
        print(table.rendered)
        if let ratio = shares.maxMinRatio { print("max/min records ratio: \(Ratio(ratio))") }
        if let warning = shares.warning { print(warning) }
        print("(\(Self.sizeNote))")
    }

    /// The FLAGS column: OFFLINE, UNDER-REPLICATED and HOT, in that order of urgency.
    static func flags(_ partition: PartitionDescription, hot: Bool) -> String {
        var flags: [String] = []
        if partition.isOffline { flags.append("OFFLINE") }
        if partition.isUnderReplicated { flags.append("UNDER-REPLICATED") }
        if hot { flags.append("HOT") }
        return flags.joined(separator: " ")
    }

    /// The JSON document of `topic describe`.
    struct Described: Encodable {
        struct Partition: Encodable {
            var partition: Int32
            @Nullable var leader: Int32?
            var leaderEpoch: Int32
            var replicas: [Int32]
            var isr: [Int32]
            var offlineReplicas: [Int32]
            @Nullable var logStartOffset: Int64?
            @Nullable var logEndOffset: Int64?
            @Nullable var recordCount: Int64?
            @Nullable var share: Double?
            var hot: Bool
            var underReplicated: Bool
            var offline: Bool
        }
        struct Skew: Encodable {
            var skewed: Bool
            var hotPartitions: [Int32]
            var emptyPartitions: [Int32]
            @Nullable var maxMinRatio: Double?
            var meanShare: Double
            @Nullable var warning: String?
        }
        var topic: String
        var `internal`: Bool
        var partitionCount: Int
        var recordCount: Int64
        @Nullable var sizeBytes: Int64?
        var sizeNote: String
        var partitions: [Partition]
        /// Indexes of the partitions flagged UNDER-REPLICATED and OFFLINE.
        var underReplicatedPartitions: [Int32]
        var offlinePartitions: [Int32]
        var skew: Skew

        init(_ description: TopicDescription, _ shares: PartitionShares) {
            topic = description.name.rawValue
            self.internal = description.isInternal
            partitionCount = description.partitions.count
            recordCount = shares.totalRecords
            sizeBytes = nil
            sizeNote = TopicDescribe.sizeNote
            partitions = zip(description.partitions, shares.entries).map { partition, entry in
                Partition(partition: partition.index.rawValue, leader: partition.leader?.rawValue,
                          leaderEpoch: partition.leaderEpoch.rawValue, replicas: partition.replicas.map(\.rawValue),
                          isr: partition.inSyncReplicas.map(\.rawValue), offlineReplicas: partition.offlineReplicas.map(\.rawValue),
                          logStartOffset: partition.logStartOffset?.rawValue, logEndOffset: partition.logEndOffset?.rawValue,
                          recordCount: entry.records, share: entry.share, hot: entry.isHot,
                          underReplicated: partition.isUnderReplicated, offline: partition.isOffline)
            }
            underReplicatedPartitions = description.partitions.filter(\.isUnderReplicated).map(\.index.rawValue)
            offlinePartitions = description.partitions.filter(\.isOffline).map(\.index.rawValue)
            skew = Skew(skewed: shares.isSkewed, hotPartitions: shares.hotPartitions.map(\.rawValue),
                        emptyPartitions: shares.emptyPartitions.map(\.rawValue), maxMinRatio: shares.maxMinRatio,
                        meanShare: shares.meanShare, warning: shares.warning)
        }
    }
}
