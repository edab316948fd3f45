import SluiceCore
import SluiceWire

/// Positions and committed offsets: ListOffsets on each leader for earliest/latest/timestamp,
/// OffsetFetch and OffsetCommit (v7/v5) at the group coordinator, retried there after
/// NOT_COORDINATOR and its kin.
extension ConsumerEngine {
    /// Looks up the start of every partition that has no fetch position yet.
    func resolvePositions() async {
        let waiting = partitions.filter { $0.value.fetchPosition == nil }
        guard !waiting.isEmpty else { return }
        var lookups: [TopicPartition: Int64] = [:]
        let fromCommit = waiting.filter { $0.value.reset == .committed }.map(\.key)
        if !fromCommit.isEmpty {
            do {
                let committed = try await fetchCommitted(fromCommit)
                for partition in fromCommit {
                    guard let state = partitions[partition], state.epoch == waiting[partition]?.epoch else { continue }
                    if let offset = committed[partition] {
                        setStart(partition, offset)
                    } else if options.autoOffsetReset == .none {
                        fatal = .invalidArgument("\(partition) has no committed offset and autoOffsetReset is none")
                    } else {
                        lookups[partition] = options.autoOffsetReset == .earliest ? -2 : -1
                    }
                }
            } catch {
                await backOff(invalidatingMetadata: false)
                return
            }
        }
        for (partition, state) in waiting {
            switch state.reset {
            case .earliest: lookups[partition] = -2
            case .latest: lookups[partition] = -1
            case .timestamp(let ms): lookups[partition] = ms
            case .offset: lookups[partition] = -2  // a negative offset: start at the log start
            case .committed: break
            }
        }
        let found = await listOffsets(lookups)
        for (partition, offset) in found {
            guard let state = partitions[partition], state.epoch == waiting[partition]?.epoch,
                  state.fetchPosition == nil else { continue }
            if offset >= .zero {
                setStart(partition, offset)
            } else {
                // No record at or after the timestamp: start at the end, as Kafka's offsetsForTimes users do.
                partitions[partition]?.reset = .latest
            }
        }
    }

    /// A looked-up start: where fetching begins, and the position until a record is handed out.
    private func setStart(_ partition: TopicPartition, _ offset: Offset) {
        guard let state = partitions[partition] else { return }
        partitions[partition]?.fetchPosition = offset
        _ = ledger.start(partition, epoch: state.epoch, at: offset)
    }

    /// The offset of the next record `partition` hands out, looking its start up if needed.
    func position(_ partition: TopicPartition) async throws(SluiceClientError) -> Offset {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        while true {
            try validate()
            if let fatal { throw fatal }
            guard let state = partitions[partition] else {
                throw .invalidArgument("\(partition) is not assigned to this consumer")
            }
            if state.fetchPosition != nil, let offset = ledger.position(partition, epoch: state.epoch) {
                return offset
            }
            guard ContinuousClock.now < deadline else {
                throw .requestTimedOut(address: "cluster", api: "ListOffsets", timeout: cluster.configuration.requestTimeout)
            }
            await resolvePositions()
            if partitions[partition]?.fetchPosition == nil { try? await Task.sleep(for: cluster.configuration.retryBackoff) }
        }
    }

    /// The offsets ListOffsets gives for each partition's timestamp (-2 earliest, -1 latest),
    /// asked of each leader; partitions that failed are left out (retried next round).
    func listOffsets(_ lookups: [TopicPartition: Int64]) async -> [TopicPartition: Offset] {
        var byLeader: [NodeID: [TopicPartition]] = [:]
        for partition in lookups.keys.sorted() {
            guard let leader = try? await cluster.leader(of: partition) else { continue }
            byLeader[leader, default: []].append(partition)
        }
        var result: [TopicPartition: Offset] = [:]
        var stale = byLeader.isEmpty && !lookups.isEmpty
        for (leader, list) in byLeader {
            let topics = Dictionary(grouping: list, by: \.topic).sorted { $0.key < $1.key }.map { topic, parts in
                ListOffsetsRequest.ListOffsetsTopic(name: topic.rawValue, partitions: parts.map {
                    .init(partitionIndex: $0.partition, timestamp: lookups[$0] ?? -1)
                })
            }
            guard let response = try? await cluster.send(
                ListOffsetsRequest(replicaID: .none, isolationLevel: 0, topics: topics), to: leader, maxVersion: 5)
            else {
                stale = true
                continue
            }
            for topic in response.topics {
                guard let name = TopicName(rawValue: topic.name) else { continue }
                for p in topic.partitions {
                    guard p.errorCode == 0 else {
                        stale = true
                        continue
                    }
                    result[TopicPartition(name, p.partitionIndex)] = p.oldStyleOffsets.first ?? p.offset
                }
            }
        }
        if stale { await backOff(invalidatingMetadata: true) }
        return result
    }

    // MARK: committed offsets

    /// The group's committed offsets of `list` (partitions without one are left out).
    func fetchCommitted(_ list: [TopicPartition]) async throws(SluiceClientError) -> [TopicPartition: Offset] {
        guard let groupID = options.groupID else { return [:] }
        let topics = Dictionary(grouping: list, by: \.topic).sorted { $0.key < $1.key }.map {
            OffsetFetchRequest.OffsetFetchRequestTopic(name: $0.key.rawValue, partitionIndexes: $0.value.map(\.partition))
        }
        let response = try await withCoordinator(api: .offsetFetch) { node throws(SluiceClientError) in
            let answer = try await cluster.send(OffsetFetchRequest(groupID: groupID, topics: topics), to: node, maxVersion: 5)
            return (answer, KafkaErrorCode.from(answer.errorCode))
        }
        let result = response.committedOffsets
        for (partition, offset) in result { lastCommitted[partition] = offset }
        return result
    }

    /// Commits the offset after the last record handed out, for partitions that moved since
    /// their last commit.
    func commitConsumed() async throws(SluiceClientError) {
        try await serializedCommit { ledger.consumedPositions().filter { lastCommitted[$0.key] != $0.value } }
    }

    /// Commits exactly `offsets`.
    func commit(_ offsets: [TopicPartition: Offset]) async throws(SluiceClientError) {
        try await serializedCommit { offsets }
    }

    /// Commits what `read` returns, reading and sending in the commit turn: commits reach the
    /// coordinator in the order their offsets were read, so an older position read before a
    /// revocation can never land after the revocation's commit and move the offset back.
    func serializedCommit(
        notifyGroup: Bool = true, _ read: () -> [TopicPartition: Offset]
    ) async throws(SluiceClientError) {
        if commitTurnTaken {
            await withCheckedContinuation { commitTurnWaiters.append($0) }
        }
        commitTurnTaken = true
        defer {
            if commitTurnWaiters.isEmpty { commitTurnTaken = false } else { commitTurnWaiters.removeFirst().resume() }
        }
        try await sendCommit(read(), notifyGroup: notifyGroup)
    }

    /// Commits under the policy, when the sequence asks for the next chunk.
    func commitIfDue() async {
        switch options.commitPolicy {
        case .manual: return
        case .afterEachBatch: break
        case .interval(let every): guard ContinuousClock.now - lastAutoCommit >= every else { return }
        }
        lastAutoCommit = .now
        try? await commitConsumed()
    }

    /// Commits `offsets` for the group (with this member's generation, or as a simple
    /// consumer with generation -1). A group error also tells the membership to rejoin
    /// (unless `notifyGroup` is false: the group task itself is committing a revocation).
    private func sendCommit(_ offsets: [TopicPartition: Offset], notifyGroup: Bool) async throws(SluiceClientError) {
        guard !offsets.isEmpty, let groupID = options.groupID else { return }
        let generation = membership?.generation ?? .none
        let memberID = membership?.memberID ?? ""
        if membership != nil, memberID.isEmpty {
            throw .server(.unknownMemberID, api: .offsetCommit, resource: "group \(groupID)",
                          message: "the consumer is not a member of the group yet; nothing was committed")
        }
        let topics = Dictionary(grouping: offsets, by: \.key.topic).sorted { $0.key < $1.key }.map { topic, entries in
            OffsetCommitRequest.OffsetCommitRequestTopic(name: topic.rawValue, partitions: entries.map {
                .init(partitionIndex: $0.key.partition, committedOffset: $0.value, committedLeaderEpoch: .unknown,
                      commitTimestamp: -1, committedMetadata: "")
            })
        }
        let request = OffsetCommitRequest(
            groupID: groupID, generationIDOrMemberEpoch: generation, memberID: memberID,
            groupInstanceID: options.groupInstanceID, retentionTimeMs: -1, topics: topics)
        let response = try await withCoordinator(api: .offsetCommit) { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 7)
            let first = answer.topics.lazy.flatMap(\.partitions).map { KafkaErrorCode.from($0.errorCode) }
                .first { $0 != .none } ?? .none
            return (answer, GroupMembership.isCoordinatorError(first) ? first : .none)
        }
        for topic in response.topics {
            guard let name = TopicName(rawValue: topic.name) else { continue }
            for p in topic.partitions {
                let partition = TopicPartition(name, p.partitionIndex)
                let code = KafkaErrorCode.from(p.errorCode)
                if code == .none {
                    if let offset = offsets[partition] { lastCommitted[partition] = offset }
                    continue
                }
                if membership != nil, notifyGroup {
                    pendingGroupActions += membership?.commitRejected(code, generation: generation) ?? []
                }
                throw .server(code, api: .offsetCommit, resource: "\(partition) in group \(groupID)", message: nil)
            }
        }
    }

    /// Runs `call` at the group's coordinator, retried there (see `GroupCoordinatorCall`).
    func withCoordinator<T: Sendable>(
        api: KafkaAPIKey, _ call: (NodeID) async throws(SluiceClientError) -> (T, KafkaErrorCode)
    ) async throws(SluiceClientError) -> T {
        try await GroupCoordinatorCall.run(cluster, group: options.groupID ?? "", api: api, call)
    }
}
