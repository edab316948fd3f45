import NIOCore
import SluiceCore
import SluiceWire

/// Fetching: one round sends one Fetch (v11, sessionless) to each leader of the partitions
/// that have a position, concurrently, and buffers what comes back.
extension ConsumerEngine {
    /// What one Fetch asked for a partition; the answer counts only if the partition still
    /// has this epoch and position.
    struct FetchTarget: Sendable {
        var partition: TopicPartition
        var epoch: UInt64
        var offset: Offset
    }

    /// Errors after which the leader may have moved: refresh the metadata and try again.
    static let staleLeaderErrors: Set<KafkaErrorCode> = [
        .notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch,
        .unknownLeaderEpoch, .kafkaStorageError, .replicaNotAvailable, .brokerNotAvailable,
    ]

    func fetchRound() async {
        defer { fetchTask = nil }
        if let notBefore = fetchNotBefore, notBefore > .now {
            try? await Task.sleep(until: notBefore)
            fetchNotBefore = nil
        }
        await resolvePositions()
        guard !isClosed else { return }
        var byLeader: [NodeID: [FetchTarget]] = [:]
        for (partition, state) in partitions.sorted(by: { $0.key < $1.key }) {
            guard let offset = state.fetchPosition else { continue }
            do {
                let leader = try await cluster.leader(of: partition)
                byLeader[leader, default: []].append(FetchTarget(partition: partition, epoch: state.epoch, offset: offset))
            } catch {
                await backOff(invalidatingMetadata: true)
            }
        }
        guard !byLeader.isEmpty else {
            // Nothing to fetch yet (no assignment, or every position is being looked up).
            try? await Task.sleep(for: .milliseconds(50))
            return
        }
        let request = fetchRequestTemplate()
        let cluster = cluster
        await withTaskGroup(of: (targets: [FetchTarget], result: Result<FetchResponse, SluiceClientError>).self) { group in
            for (leader, targets) in byLeader {
                var fetch = request
                fetch.topics = Self.fetchTopics(targets, partitionBytesMax: options.partitionFetchBytesMax)
                group.addTask {
                    do throws(SluiceClientError) {
                        return (targets, .success(try await cluster.send(fetch, to: leader, maxVersion: 11)))
                    } catch {
                        return (targets, .failure(error))
                    }
                }
            }
            var stale = false
            for await (targets, result) in group {
                switch result {
                case .success(let response): stale = apply(response, targets: targets) || stale
                case .failure: stale = true
                }
            }
            if stale { await backOff(invalidatingMetadata: true) }
        }
    }

    private func fetchRequestTemplate() -> FetchRequest {
        FetchRequest(
            replicaID: .none, maxWaitMs: options.fetchWaitMax.milliseconds32, minBytes: options.fetchBytesMin,
            maxBytes: options.fetchBytesMax, isolationLevel: 0, sessionID: 0, sessionEpoch: -1)
    }

    private static func fetchTopics(_ targets: [FetchTarget], partitionBytesMax: Int32) -> [FetchRequest.FetchTopic] {
        Dictionary(grouping: targets, by: \.partition.topic).sorted { $0.key < $1.key }.map { topic, targets in
            FetchRequest.FetchTopic(topic: topic.rawValue, partitions: targets.map {
                .init(partition: $0.partition.partition, currentLeaderEpoch: .unknown, fetchOffset: $0.offset,
                      logStartOffset: .unknown, partitionMaxBytes: partitionBytesMax)
            })
        }
    }

    /// Buffers one node's answer: records for partitions whose epoch and position still match,
    /// a reset for OFFSET_OUT_OF_RANGE. Returns whether a leader seems to have moved (refresh
    /// the metadata and back off).
    private func apply(_ response: FetchResponse, targets: [FetchTarget]) -> Bool {
        guard response.errorCode == 0 else { return true }
        var stale = false
        let byPartition = Dictionary(targets.map { ($0.partition, $0) }, uniquingKeysWith: { a, _ in a })
        for topic in response.responses {
            guard let name = TopicName(rawValue: topic.topic) else { continue }
            for data in topic.partitions {
                let partition = TopicPartition(name, data.partitionIndex)
                guard let target = byPartition[partition], var state = partitions[partition],
                      state.epoch == target.epoch, state.fetchPosition == target.offset else { continue }
                let code = KafkaErrorCode.from(data.errorCode)
                switch code {
                case .none:
                    do {
                        let decoded = try FetchedBatchDecoder.decode(
                            data.records, topic: name, partition: data.partitionIndex, fetchOffset: target.offset)
                        state.fetchPosition = decoded.nextFetchOffset
                        let records = decoded.records
                        if !records.isEmpty {
                            ready.append(FetchedChunk(partition: partition, epoch: state.epoch, records: records))
                            bufferedRecords += records.count
                        }
                    } catch {
                        fatal = .server(.corruptMessage, api: .fetch, resource: "\(partition)", message: "\(error)")
                    }
                case .offsetOutOfRange:
                    switch options.autoOffsetReset {
                    case .earliest: (state.fetchPosition, state.reset) = (nil, .earliest)
                    case .latest: (state.fetchPosition, state.reset) = (nil, .latest)
                    case .none:
                        fatal = .server(code, api: .fetch, resource: "\(partition)",
                                        message: "offset \(target.offset) is outside the log and autoOffsetReset is none")
                    }
                case let code where Self.staleLeaderErrors.contains(code) || code.isRetriable:
                    stale = true
                default:
                    fatal = .server(code, api: .fetch, resource: "\(partition)", message: nil)
                }
                partitions[partition] = state
            }
        }
        return stale
    }

    /// Delays the next round by the client's retry backoff, marking the metadata stale if asked.
    func backOff(invalidatingMetadata: Bool) async {
        fetchNotBefore = .now + cluster.configuration.retryBackoff
        if invalidatingMetadata { await cluster.invalidateMetadata() }
    }
}
