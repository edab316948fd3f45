import SluiceCore
import SluiceMetadata
import SluiceWire

/// OffsetCommit (key 8). Versions 0-1 must stay advertised: librdkafka < 2.11.1 checks for
/// v1..2 exactly (CLIENTS.md §1c). v0 has no generation or member (a simple commit, generation
/// -1); v1's per-partition commit timestamp and v2-4's retention time are ignored (the broker's
/// `offsets_retention_minutes` applies, as in Kafka 2.1+); v6+ carries the leader epoch, v7+ the
/// `group.instance.id`. Partitions of topics the metadata does not have get
/// UNKNOWN_TOPIC_OR_PARTITION without reaching the coordinator, as in Kafka.
struct OffsetCommitHandler: KafkaAPIHandler {
    typealias Request = OffsetCommitRequest
    static let versions: ClosedRange<Int16> = 0...7
    let services: BrokerServices
    let groups: GroupCoordinatorService

    /// Where a requested partition's answer comes from.
    enum Slot: Equatable {
        /// The coordinator's outcome at this index of its input.
        case core(Int)
        /// Refused before the coordinator.
        case refused(KafkaErrorCode)
    }

    /// The coordinator's input for the partitions of known topics, and for every partition of
    /// the request (in order) where its answer comes from.
    static func input(_ request: OffsetCommitRequest, _ context: RequestContext, image: MetadataImage)
        -> (input: OffsetCommitInput, slots: [Slot]) {
        var partitions: [OffsetCommitPartition] = []
        var slots: [Slot] = []
        for topic in request.topics {
            let known = TopicName(rawValue: topic.name).flatMap { image.topic(named: $0) }
            for p in topic.partitions {
                guard let known, p.partitionIndex.rawValue >= 0, Int(p.partitionIndex.rawValue) < known.partitions.count else {
                    slots.append(.refused(.unknownTopicOrPartition))
                    continue
                }
                slots.append(.core(partitions.count))
                partitions.append(OffsetCommitPartition(
                    topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset,
                    leaderEpoch: context.version >= 6 ? p.committedLeaderEpoch : .unknown, metadata: p.committedMetadata))
            }
        }
        let input = OffsetCommitInput(
            groupID: request.groupID, generationID: context.version >= 1 ? request.generationIDOrMemberEpoch : .none,
            memberID: context.version >= 1 ? request.memberID : "",
            groupInstanceID: context.version >= 7 ? request.groupInstanceID : nil, partitions: partitions)
        return (input, slots)
    }

    func handle(_ request: OffsetCommitRequest, _ context: RequestContext) async -> OffsetCommitResponse? {
        let (input, slots) = Self.input(request, context, image: services.metadata.current.image)
        var codes: [KafkaErrorCode] = []
        if !input.partitions.isEmpty {
            switch await groups.commitOffsets(input) {
            case .success(let outcome): codes = outcome.errorCodes
            case .failure(let refusal): codes = Array(repeating: refusal.errorCode, count: input.partitions.count)
            }
        }
        var next = slots.makeIterator()
        return OffsetCommitResponse(topics: request.topics.map { topic in
            .init(name: topic.name, partitions: topic.partitions.map { p in
                let code: KafkaErrorCode
                switch next.next() {
                case .core(let index)?: code = index < codes.count ? codes[index] : .unknownServerError
                case .refused(let refused)?: code = refused
                case nil: code = .unknownServerError
                }
                return .init(partitionIndex: p.partitionIndex, errorCode: code.rawValue)
            })
        })
    }
}

/// OffsetFetch (key 9), read from the committed image on the active coordinator: everything
/// there has committed to the metadata log. A partition with nothing committed gets offset -1.
/// v2+ accept null topics (every partition the group has an offset for) and carry a top-level
/// error; v0-1 report a refusal per partition. v5+ carry the committed leader epoch. v1 must
/// stay advertised (librdkafka < 2.11.1 checks for it exactly); v0 read ZooKeeper offsets in
/// Kafka and are answered from the same store here.
struct OffsetFetchHandler: KafkaAPIHandler {
    typealias Request = OffsetFetchRequest
    static let versions: ClosedRange<Int16> = 0...5
    let groups: GroupCoordinatorService

    typealias Partition = OffsetFetchResponse.OffsetFetchResponseTopic.OffsetFetchResponsePartition

    static func response(_ request: OffsetFetchRequest, version: Int16,
                         offsets: Result<[TopicPartition: CommittedOffset], GroupCoordinatorService.Refusal>) -> OffsetFetchResponse {
        switch offsets {
        case .failure(let refusal):
            if version >= 2 { return OffsetFetchResponse(topics: [], errorCode: refusal.errorCode.rawValue) }
            return OffsetFetchResponse(topics: (request.topics ?? []).map { topic in
                .init(name: topic.name, partitions: topic.partitionIndexes.map {
                    Partition(partitionIndex: $0, committedOffset: -1, metadata: "", errorCode: refusal.errorCode.rawValue)
                })
            })
        case .success(let offsets):
            let wanted: [(name: String, partitions: [PartitionIndex])]
            if let topics = request.topics {
                wanted = topics.map { ($0.name, $0.partitionIndexes) }
            } else {
                let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
                wanted = byTopic.keys.sorted().map { name in (name.rawValue, byTopic[name, default: []].map(\.partition).sorted()) }
            }
            return OffsetFetchResponse(topics: wanted.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { index in
                    guard let name = TopicName(rawValue: topic.name), let committed = offsets[TopicPartition(name, index)] else {
                        return Partition(partitionIndex: index, committedOffset: -1, metadata: "")
                    }
                    return Partition(partitionIndex: index, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch,
                                     metadata: committed.metadata ?? "")
                })
            })
        }
    }

    func handle(_ request: OffsetFetchRequest, _ context: RequestContext) async -> OffsetFetchResponse? {
        Self.response(request, version: context.version, offsets: await groups.committedOffsets(request.groupID))
    }
}
