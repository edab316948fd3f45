import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice cluster status`: nodes, controller, Raft term, under-replicated and offline partitions.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect the cluster.",
        subcommands: [Status.self])

    /// `sluice cluster status`.
    struct Status: AsyncParsableCommand {
        /// Why the Raft term is unknown: no Kafka API a client may call reports it.
        static let raftTermNote = "the nodes serve no client API that reports the metadata log's Raft term "
            + "(DescribeQuorum is not implemented)"

        static let configuration = CommandConfiguration(
            abstract: "Show the nodes, the controller, the Raft term, and the under-replicated and offline partitions.",
            discussion: """
                A partition is offline when it has no leader or its leader is not among the live nodes, and \
                under-replicated when its ISR is smaller than its replica list. \
                The Raft term is shown as unknown: \(raftTermNote).
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let metadata = try await cluster.withClient { client in try await client.metadata(refresh: true) }
            let status = StatusReport(metadata)
            if output.isJSON {
                try output.printJSON(status)
                return
            }
            print("cluster \(status.clusterId ?? "(no id)"): \(status.nodes.count) node(s), controller "
                  + (status.controller.map { "node \($0)" } ?? "none") + ", Raft term unknown (\(Self.raftTermNote))")
            var nodes = TextTable("NODE", "ADDRESS", "RACK", "ROLE")
            for node in status.nodes {
                nodes.add("\(node.id)", "\(node.host):\(node.port)", node.rack ?? "-", node.controller ? "controller" : "")
            }
            print(nodes.rendered)
            print("\(status.topics) topic(s), \(status.partitions) partition(s), "
                  + "\(status.underReplicatedPartitions.count) under-replicated, \(status.offlinePartitions.count) offline")
            if !status.underReplicatedPartitions.isEmpty {
                var under = TextTable("TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE")
                for entry in status.underReplicatedPartitions {
                    under.add(entry.topic, "\(entry.partition)", entry.leader.map(\.description) ?? "none",
                              entry.replicas.map(\.description).joined(separator: ","),
                              entry.isr.map(\.description).joined(separator: ","),
                              entry.offlineReplicas.isEmpty ? "-" : entry.offlineReplicas.map(\.description).joined(separator: ","))
                }
                print(under.rendered)
            }
            if !status.offlinePartitions.isEmpty {
                var offline = TextTable("TOPIC", "PARTITION", "LEADER", "REPLICAS")
                for entry in status.offlinePartitions {
                    offline.add(entry.topic, "\(entry.partition)", entry.leader.map { "\($0) (not live)" } ?? "none",
                                entry.replicas.map(\.description).joined(separator: ","))
                }
                print(offline.rendered)
            }
        }
    }

    /// What `cluster status` reports (its JSON document).
    struct StatusReport: Encodable {
        struct Node: Encodable {
            var id: Int32
            var host: String
            var port: Int
            @Nullable var rack: String?
            var controller: Bool
        }
        struct OfflinePartition: Encodable {
            var topic: String
            var partition: Int32
            /// The leader the metadata names, if any (it is not a live node).
            @Nullable var leader: Int32?
            var replicas: [Int32]
        }
        struct UnderReplicatedPartition: Encodable {
            var topic: String
            var partition: Int32
            @Nullable var leader: Int32?
            var replicas: [Int32]
            var isr: [Int32]
            var offlineReplicas: [Int32]
        }
        @Nullable var clusterId: String?
        @Nullable var controller: Int32?
        @Nullable var raftTerm: UInt64?
        var raftTermNote: String
        var nodes: [Node]
        var topics: Int
        var partitions: Int
        var offlinePartitions: [OfflinePartition]
        var underReplicatedPartitions: [UnderReplicatedPartition]

        init(_ metadata: ClusterMetadata) {
            clusterId = metadata.clusterID
            controller = metadata.controllerID?.rawValue
            raftTerm = nil
            raftTermNote = Status.raftTermNote
            nodes = metadata.sortedBrokers.map {
                Node(id: $0.id.rawValue, host: $0.host, port: $0.port, rack: $0.rack, controller: $0.id == metadata.controllerID)
            }
            let topicList = metadata.topics.values.sorted { $0.name < $1.name }
            topics = topicList.count
            partitions = topicList.reduce(0) { $0 + $1.partitions.count }
            offlinePartitions = topicList.flatMap { topic in
                topic.partitions.filter { partition in
                    guard let leader = partition.leader else { return true }
                    return metadata.brokers[leader] == nil
                }.map {
                    OfflinePartition(topic: topic.name.rawValue, partition: $0.index.rawValue, leader: $0.leader?.rawValue,
                                     replicas: $0.replicas.map(\.rawValue))
                }
            }
            underReplicatedPartitions = topicList.flatMap { topic in
                topic.partitions.filter(\.isUnderReplicated).map {
                    UnderReplicatedPartition(topic: topic.name.rawValue, partition: $0.index.rawValue, leader: $0.leader?.rawValue,
                                             replicas: $0.replicas.map(\.rawValue), isr: $0.inSyncReplicas.map(\.rawValue),
                                             offlineReplicas: $0.offlineReplicas.map(\.rawValue))
                }
            }
        }
    }
}
