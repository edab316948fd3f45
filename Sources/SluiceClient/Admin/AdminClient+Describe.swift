import SluiceCore
import SluiceWire

extension AdminClient {
    /// `topic`'s partitions with their leader, replicas and in-sync replicas, and each
    /// partition's log start and end offsets from its leader (ListOffsets), from which
    /// ``PartitionDescription/recordCount`` follows. Partition sizes in bytes are not included
    /// (the nodes report them in DescribeLogDirs, which this client does not ask yet).
    /// A partition whose leader is down has nil offsets.
    public func describeTopic(_ topic: TopicName) async throws(SluiceClientError) -> TopicDescription {
        let metadata = try await cluster.metadata(topics: [topic], refresh: true)
        guard let info = metadata.topics[topic] else { throw .unknownTopic(topic) }
        let offsets = await listOffsets(of: info.partitions.compactMap { partition in
            partition.leader.map { (TopicPartition(topic, partition.index), $0) }
        })
        return TopicDescription(name: topic, isInternal: info.isInternal, partitions: info.partitions.map { partition in
            let key = TopicPartition(topic, partition.index)
            return PartitionDescription(
                index: partition.index, leader: partition.leader, leaderEpoch: partition.leaderEpoch,
                replicas: partition.replicas, inSyncReplicas: partition.inSyncReplicas,
                offlineReplicas: partition.offlineReplicas,
                logStartOffset: offsets[key]?.start, logEndOffset: offsets[key]?.end)
        })
    }

    /// The earliest and latest offsets of each partition, asked of its leader; partitions whose
    /// leader does not answer are left out.
    public func logOffsets(of partitions: [TopicPartition]) async throws(SluiceClientError)
        -> [TopicPartition: (start: Offset, end: Offset)]
    {
        var withLeaders: [(TopicPartition, NodeID)] = []
        for partition in partitions {
            withLeaders.append((partition, try await cluster.leader(of: partition)))
        }
        return await listOffsets(of: withLeaders)
    }

    private func listOffsets(of partitions: [(TopicPartition, NodeID)]) async -> [TopicPartition: (start: Offset, end: Offset)] {
        var byLeader: [NodeID: [TopicPartition]] = [:]
        for (partition, leader) in partitions { byLeader[leader, default: []].append(partition) }
        var result: [TopicPartition: (start: Offset, end: Offset)] = [:]
        for (leader, partitions) in byLeader {
            guard let earliest = try? await offsets(of: partitions, at: -2, from: leader),
                  let latest = try? await offsets(of: partitions, at: -1, from: leader) else { continue }
            for partition in partitions {
                if let start = earliest[partition], let end = latest[partition] { result[partition] = (start, end) }
            }
        }
        return result
    }

    /// ListOffsets for `partitions` at `timestamp` (-2 earliest, -1 latest, else the first
    /// offset at or after that time in ms) from `node`.
    func offsets(of partitions: [TopicPartition], at timestamp: Int64,
                 from node: NodeID) async throws(SluiceClientError) -> [TopicPartition: Offset] {
        var topics: [TopicName: [ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition]] = [:]
        for partition in partitions {
            topics[partition.topic, default: []].append(.init(partitionIndex: partition.partition, timestamp: timestamp))
        }
        let request = ListOffsetsRequest(
            replicaID: NodeID(-1),
            topics: topics.map { .init(name: $0.key.rawValue, partitions: $0.value) })
        let response = try await cluster.send(request, to: node, maxVersion: 5)
        var offsets: [TopicPartition: Offset] = [:]
        for topic in response.topics {
            guard let name = TopicName(rawValue: topic.name) else { continue }
            for partition in topic.partitions {
                let key = TopicPartition(name, partition.partitionIndex)
                if let error = SluiceClientError.serverIfError(partition.errorCode, api: .listOffsets, resource: "\(key)") {
                    throw error
                }
                offsets[key] = partition.offset
            }
        }
        return offsets
    }
}
