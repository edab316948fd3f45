import SluiceCore
import SluiceWire

extension AdminClient {
    /// Changes `topic`'s config overrides at the controller (IncrementalAlterConfigs v0): each
    /// of `set` is set, each of `delete` goes back to the cluster default, the rest stay.
    /// All or nothing: INVALID_CONFIG (an unknown key or a bad value) changes nothing.
    public func alterTopicConfigs(_ topic: TopicName, set: [String: String] = [:], delete: [String] = [],
                                  validateOnly: Bool = false) async throws(SluiceClientError) {
        let configs = set.sorted { $0.key < $1.key }.map { IncrementalAlterConfigsRequest.AlterConfigsResource.AlterableConfig(name: $0.key, configOperation: 0, value: $0.value) }
            + delete.map { .init(name: $0, configOperation: 1, value: nil) }
        let request = IncrementalAlterConfigsRequest(
            resources: [.init(resourceType: 2, resourceName: topic.rawValue, configs: configs)], validateOnly: validateOnly)
        let response = try await withControllerRetries { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 0)
            try Self.retryIfNotController(answer.responses.map(\.errorCode), api: .incrementalAlterConfigs)
            return answer
        }
        for result in response.responses {
            if let error = SluiceClientError.serverIfError(result.errorCode, api: .incrementalAlterConfigs,
                                                           resource: "topic \(topic)", message: result.errorMessage) {
                throw error
            }
        }
    }

    /// Deletes the records of each partition below its offset (DeleteRecords v1, at each
    /// partition's leader; `-1` means up to the high watermark) and returns each partition's
    /// new log start. OFFSET_OUT_OF_RANGE for an offset past the high watermark.
    public func deleteRecords(before offsets: [TopicPartition: Offset]) async throws(SluiceClientError) -> [TopicPartition: Offset] {
        var byLeader: [NodeID: [TopicPartition]] = [:]
        for partition in offsets.keys.sorted() { byLeader[try await cluster.leader(of: partition), default: []].append(partition) }
        var result: [TopicPartition: Offset] = [:]
        for (leader, partitions) in byLeader.sorted(by: { $0.key < $1.key }) {
            let topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }
            let request = DeleteRecordsRequest(
                topics: topics.map { topic, parts in
                    .init(name: topic.rawValue, partitions: parts.map { .init(partitionIndex: $0.partition, offset: offsets[$0]!) })
                },
                timeoutMs: timeoutMs)
            let response = try await cluster.send(request, to: leader, maxVersion: 1)
            for topic in response.topics {
                guard let name = TopicName(rawValue: topic.name) else { continue }
                for partition in topic.partitions {
                    let key = TopicPartition(name, partition.partitionIndex)
                    if let error = SluiceClientError.serverIfError(partition.errorCode, api: .deleteRecords, resource: "\(key)") {
                        throw error
                    }
                    result[key] = partition.lowWatermark
                }
            }
        }
        return result
    }

    /// Deletes an empty consumer group and its committed offsets at its coordinator
    /// (DeleteGroups v1); NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND if unknown.
    public func deleteGroup(_ groupID: String) async throws(SluiceClientError) {
        try await GroupCoordinatorCall.run(cluster, group: groupID, api: .deleteGroups) { node throws(SluiceClientError) in
            let answer = try await cluster.send(DeleteGroupsRequest(groupsNames: [groupID]), to: node, maxVersion: 1)
            let code = answer.results.first { $0.groupID == groupID }?.errorCode ?? KafkaErrorCode.unknownServerError.rawValue
            return ((), KafkaErrorCode.from(code))
        }
    }
}
