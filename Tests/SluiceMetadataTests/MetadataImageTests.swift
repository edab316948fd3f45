import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Applying records to the metadata image")
struct MetadataImageTests {
    static let id = KafkaUUID(high: 9, low: 9)
    static let orders = Fixture.topic("orders")

    static func register(_ node: NodeID, _ incarnation: UInt64 = 1) -> MetadataRecord {
        .registerBroker(
            RegisterBrokerRecord(
                nodeID: node, incarnation: Fixture.incarnation(incarnation),
                clientEndpoint: BrokerEndpoint(host: "h", port: 1), interNodeEndpoint: BrokerEndpoint(host: "h", port: 2)))
    }

    /// A topic "orders" with one partition: replicas [1, 2, 3], all in sync, leader 1.
    static func imageWithTopic() throws -> MetadataImage {
        var image = MetadataImage.empty
        try image.applyAll([
            .topic(TopicRecord(name: orders, topicID: id)),
            .partition(PartitionRecord(topicID: id, partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1)),
        ])
        return image
    }

    @Test func registrationStartsFencedAndUnfenceRequiresTheSameIncarnation() throws {
        var image = MetadataImage.empty
        try image.apply(Self.register(1))
        #expect(image.brokers[1]?.isFenced == true)
        #expect(throws: MetadataError.staleIncarnation(1, registered: Fixture.incarnation(1), record: Fixture.incarnation(2))) {
            try image.apply(.unfenceBroker(UnfenceBrokerRecord(nodeID: 1, incarnation: Fixture.incarnation(2))))
        }
        try image.apply(.unfenceBroker(UnfenceBrokerRecord(nodeID: 1, incarnation: Fixture.incarnation(1))))
        #expect(image.unfencedBrokerIDs == [1])
        try image.apply(.fenceBroker(FenceBrokerRecord(nodeID: 1, incarnation: Fixture.incarnation(1))))
        #expect(image.unfencedBrokerIDs == [])
        #expect(throws: MetadataError.unknownBroker(7)) {
            try image.apply(.fenceBroker(FenceBrokerRecord(nodeID: 7, incarnation: Fixture.incarnation(1))))
        }
    }

    @Test func topicIsFoundByNameAndByID() throws {
        let image = try Self.imageWithTopic()
        #expect(image.topic(named: Self.orders)?.topicID == Self.id)
        #expect(image.topicsByID[Self.id]?.name == Self.orders)
        #expect(image.partition(TopicPartition(Self.orders, 0))?.leader == 1)
        #expect(image.partitionCount == 1)
    }

    @Test func duplicateTopicNameOrIDIsRefused() throws {
        var image = try Self.imageWithTopic()
        #expect(throws: MetadataError.topicNameExists(Self.orders)) {
            try image.apply(.topic(TopicRecord(name: Self.orders, topicID: KafkaUUID(high: 1, low: 1))))
        }
        #expect(throws: MetadataError.topicIDExists(Self.id)) {
            try image.apply(.topic(TopicRecord(name: Fixture.topic("other"), topicID: Self.id)))
        }
    }

    @Test func partitionsMustBeDenseAndValid() throws {
        var image = try Self.imageWithTopic()
        #expect(throws: MetadataError.partitionIndexNotNext(Self.id, 2, expected: 1)) {
            try image.apply(.partition(PartitionRecord(topicID: Self.id, partition: 2, replicas: [1], isr: [1], leader: 1)))
        }
        #expect(throws: MetadataError.invalidPartitionState(Self.id, 1, "leader 2 is not in ISR [1]")) {
            try image.apply(.partition(PartitionRecord(topicID: Self.id, partition: 1, replicas: [1, 2], isr: [1], leader: 2)))
        }
        #expect(throws: MetadataError.invalidPartitionState(Self.id, 1, "empty ISR")) {
            try image.apply(.partition(PartitionRecord(topicID: Self.id, partition: 1, replicas: [1], isr: [], leader: NodeID.none)))
        }
    }

    @Test func leaderChangeBumpsBothEpochsAndISRChangeOnlyThePartitionEpoch() throws {
        var image = try Self.imageWithTopic()
        try image.apply(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: 0, partitionEpoch: 1, isr: [1, 2])))
        var state = try #require(image.partition(TopicPartition(Self.orders, 0)))
        #expect(state.isr == [1, 2] && state.leaderEpoch == 0 && state.partitionEpoch == 1)
        try image.apply(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: 0, partitionEpoch: 2, leader: 2, isr: [2])))
        state = try #require(image.partition(TopicPartition(Self.orders, 0)))
        #expect(state.leader == 2 && state.isr == [2] && state.leaderEpoch == 1 && state.partitionEpoch == 2)
    }

    @Test func staleChangeIsRefusedAndLeavesTheImageUnchanged() throws {
        var image = try Self.imageWithTopic()
        let before = image
        #expect(throws: MetadataError.stalePartitionEpoch(Self.id, 0, current: 0, record: 0)) {
            try image.apply(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: 0, partitionEpoch: 0, leader: 2)))
        }
        #expect(throws: MetadataError.invalidPartitionState(Self.id, 0, "ISR [4] is not a subset of replicas [1, 2, 3]")) {
            try image.apply(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: 0, partitionEpoch: 1, leader: NodeID.none, isr: [4])))
        }
        #expect(image == before)
    }

    @Test func committedEntryWithAnInvalidRecordSkipsOnlyThatRecord() throws {
        var image = MetadataImage.empty
        let batch = MetadataRecordBatch([
            .topic(TopicRecord(name: Self.orders, topicID: Self.id)),
            .partition(PartitionRecord(topicID: KafkaUUID(high: 5, low: 5), partition: 0, replicas: [1], isr: [1], leader: 1)),
            .partition(PartitionRecord(topicID: Self.id, partition: 0, replicas: [1], isr: [1], leader: 1)),
        ])
        let skipped = image.applyCommitted(payload: batch.encodedBytes(), index: 1, term: 1)
        #expect(skipped.map(\.recordPosition) == [1])
        #expect(skipped.first?.error == .unknownTopicID(KafkaUUID(high: 5, low: 5)))
        #expect(image.topic(named: Self.orders)?.partitions.count == 1)
        #expect(image.lastAppliedIndex == 1 && image.lastAppliedTerm == 1)
    }

    @Test func undecodableEntryIsSkippedWholeButCountsAsApplied() {
        var image = MetadataImage.empty
        let skipped = image.applyCommitted(payload: [0, 0, 0, 0, 1, 0, 0, 0, 2, 99, 0], index: 3, term: 2)
        #expect(skipped == [SkippedRecord(index: 3, recordPosition: nil, error: .undecodable(.unknownKind(99)))])
        #expect(image.lastAppliedIndex == 3)
        var expected = MetadataImage.empty
        expected.markApplied(index: 3, term: 2)
        #expect(image == expected)
    }

    @Test func removeTopicDropsItsNameAndConfigs() throws {
        var image = try Self.imageWithTopic()
        try image.apply(.config(ConfigRecord(resource: .topic(Self.orders), key: "retention.ms", value: "5")))
        try image.apply(.removeTopic(RemoveTopicRecord(topicID: Self.id)))
        #expect(image.topic(named: Self.orders) == nil && image.topicsByID.isEmpty)
        // The name can be reused, with defaults again.
        try image.apply(.topic(TopicRecord(name: Self.orders, topicID: KafkaUUID(high: 2, low: 2))))
        #expect(image.effectiveConfig(.retentionMs, topic: Self.orders) == "604800000")
    }

    @Test func effectiveConfigPrefersTheTopicValueAndDeletionRestoresTheDefault() throws {
        var image = try Self.imageWithTopic()
        #expect(image.effectiveConfig(.segmentBytes, topic: Self.orders) == "1073741824")
        try image.apply(.config(ConfigRecord(resource: .topic(Self.orders), key: "segment.bytes", value: "4096")))
        #expect(image.effectiveConfig(.segmentBytes, topic: Self.orders) == "4096")
        try image.apply(.config(ConfigRecord(resource: .topic(Self.orders), key: "segment.bytes", value: nil)))
        #expect(image.effectiveConfig(.segmentBytes, topic: Self.orders) == "1073741824")
        #expect(image.effectiveConfig(.segmentBytes, topic: Fixture.topic("nope")) == nil)
        #expect(throws: MetadataError.unknownTopicName(Fixture.topic("nope"))) {
            try image.apply(.config(ConfigRecord(resource: .topic(Fixture.topic("nope")), key: "k", value: "v")))
        }
    }

    @Test func producerIDBlocksMustBeContiguous() throws {
        var image = MetadataImage.empty
        try image.apply(.producerIDs(ProducerIDsRecord(blockStart: 0, blockSize: 1000)))
        #expect(image.nextProducerID == 1000)
        #expect(throws: MetadataError.producerIDBlockNotNext(expected: 1000, record: 0)) {
            try image.apply(.producerIDs(ProducerIDsRecord(blockStart: 0, blockSize: 1000)))
        }
    }

    @Test func applyingAManyRecordRunIsLinear() throws {
        // 20 000 partition changes on one topic in one run: quadratic copying would take minutes.
        var image = MetadataImage.empty
        var records: [MetadataRecord] = [.topic(TopicRecord(name: Self.orders, topicID: Self.id))]
        for p in 0..<10_000 {
            records.append(.partition(PartitionRecord(topicID: Self.id, partition: PartitionIndex(Int32(p)), replicas: [1, 2], isr: [1, 2], leader: 1)))
        }
        image.applyCommitted(MetadataRecordBatch(records), index: 1, term: 1)
        let shared = image  // a reader holds the previous image
        var changes: [MetadataRecord] = []
        for p in 0..<10_000 {
            changes.append(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: PartitionIndex(Int32(p)), partitionEpoch: 1, isr: [1])))
            changes.append(.partitionChange(PartitionChangeRecord(topicID: Self.id, partition: PartitionIndex(Int32(p)), partitionEpoch: 2, leader: 2, isr: [2])))
        }
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(image.applyCommitted(MetadataRecordBatch(changes), index: 2, term: 1).isEmpty) }
        #expect(elapsed < .seconds(5))
        #expect(shared.partition(TopicPartition(Self.orders, 9_999))?.leader == 1)
        #expect(image.partition(TopicPartition(Self.orders, 9_999))?.leader == 2)
    }
}
