import NIOCore
import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Metadata record encoding")
struct RecordCodecTests {
    static let topicID = KafkaUUID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)

    static let samples: [MetadataRecord] = [
        .registerBroker(
            RegisterBrokerRecord(
                nodeID: 3, incarnation: KafkaUUID(high: 1, low: 2),
                clientEndpoint: BrokerEndpoint(host: "broker-3.example", port: 9092),
                interNodeEndpoint: BrokerEndpoint(host: "10.0.0.3", port: 9093))),
        .fenceBroker(FenceBrokerRecord(nodeID: 3, incarnation: KafkaUUID(high: 1, low: 2))),
        .unfenceBroker(UnfenceBrokerRecord(nodeID: 3, incarnation: KafkaUUID(high: 1, low: 2))),
        .topic(TopicRecord(name: Fixture.topic("orders"), topicID: topicID)),
        .partition(
            PartitionRecord(
                topicID: topicID, partition: 2, replicas: [1, 2, 3], isr: [1, 3], leader: 3, leaderEpoch: 7,
                partitionEpoch: 9)),
        .partitionChange(PartitionChangeRecord(topicID: topicID, partition: 2, partitionEpoch: 10)),
        .partitionChange(
            PartitionChangeRecord(
                topicID: topicID, partition: 0, partitionEpoch: 1, leader: NodeID.none, isr: [2], replicas: [2, 4])),
        .partitionChange(PartitionChangeRecord(topicID: topicID, partition: 1, partitionEpoch: 3, isrRestartedUnclean: true)),
        .partitionChange(PartitionChangeRecord(topicID: topicID, partition: 1, partitionEpoch: 4, leader: 2, isrRestartedUnclean: false)),
        .partition(
            PartitionRecord(
                topicID: topicID, partition: 3, replicas: [1, 2], isr: [2], leader: NodeID.none, leaderEpoch: 2,
                partitionEpoch: 5, isrRestartedUnclean: true)),
        .removeTopic(RemoveTopicRecord(topicID: topicID)),
        .config(ConfigRecord(resource: .topic(Fixture.topic("orders")), key: "retention.ms", value: "1000")),
        .config(ConfigRecord(resource: .broker(5), key: "x", value: nil)),
        .config(ConfigRecord(resource: .topic(Fixture.topic("t")), key: "k", value: "ünïcode")),
        .producerIDs(ProducerIDsRecord(blockStart: 5000, blockSize: 1000)),
    ] + GroupRecordTests.samples

    @Test("every record kind decodes to what was encoded", arguments: samples)
    func recordRoundTrips(record: MetadataRecord) throws {
        #expect(try MetadataRecord.decode(exactly: record.encoded()) == record)
    }

    @Test func everyKindHasASample() {
        #expect(Set(Self.samples.map(\.kind)) == Set(MetadataRecord.Kind.allCases))
    }

    @Test func batchOfAllKindsRoundTrips() throws {
        let batch = MetadataRecordBatch(Self.samples)
        #expect(try MetadataRecordBatch.decode(batch.encodedBytes()) == batch)
    }

    @Test func fenceBrokerGoldenBytes() {
        let record = MetadataRecord.fenceBroker(FenceBrokerRecord(nodeID: 258, incarnation: KafkaUUID(high: 1, low: 2)))
        #expect(Fixture.bytes(record.encoded()) == [
            2, 0,  // kind FenceBroker, version 0
            0, 0, 1, 2,  // node id 258
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2,  // incarnation
        ])
    }

    @Test func partitionChangeGoldenBytesMarkAbsentFields() {
        let record = MetadataRecord.partitionChange(
            PartitionChangeRecord(topicID: KafkaUUID(high: 0, low: 1), partition: 4, partitionEpoch: 6, leader: 2))
        #expect(Fixture.bytes(record.encoded()) == [
            6, 1,  // kind PartitionChange, version 1
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // topic id
            0, 0, 0, 4,  // partition
            0, 0, 0, 6,  // partition epoch
            1, 0, 0, 0, 2,  // leader present: 2
            0,  // no ISR
            0,  // no replicas
            0,  // isrRestartedUnclean unchanged
        ])
    }

    @Test func version0PartitionRecordsDecodeWithoutTheUncleanRestartFlag() throws {
        // Written before the flag existed: the same bytes without it, under version 0.
        let change: [UInt8] = [6, 0] + [UInt8](repeating: 0, count: 15) + [1, 0, 0, 0, 4, 0, 0, 0, 6, 1, 0, 0, 0, 2, 0, 0]
        #expect(
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: change))
                == .partitionChange(PartitionChangeRecord(topicID: KafkaUUID(high: 0, low: 1), partition: 4, partitionEpoch: 6, leader: 2)))
        let partition = PartitionRecord(topicID: KafkaUUID(high: 0, low: 1), partition: 0, replicas: [1], isr: [1], leader: 1)
        var bytes = Fixture.bytes(MetadataRecord.partition(partition).encoded())
        #expect(bytes[1] == 1 && bytes.last == 0)
        bytes[1] = 0
        bytes.removeLast()
        #expect(try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes)) == .partition(partition))
    }

    @Test func batchGoldenBytes() {
        let batch = MetadataRecordBatch([.removeTopic(RemoveTopicRecord(topicID: KafkaUUID(high: 0, low: 0x1F)))])
        #expect(batch.encodedBytes() == [
            0,  // batch version
            0, 0, 0, 1,  // one record
            0, 0, 0, 18,  // record length
            7, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1F,
        ])
    }

    @Test("every proper prefix of a record is refused, not trapped", arguments: samples)
    func truncatedRecordIsRefused(record: MetadataRecord) {
        let bytes = Fixture.bytes(record.encoded())
        for length in 0..<bytes.count {
            #expect(throws: MetadataCodecError.self) {
                try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes[..<length]))
            }
        }
    }

    @Test func trailingBytesAreRefused() {
        var buffer = Self.samples[1].encoded()
        buffer.writeInteger(UInt8(0))
        #expect(throws: MetadataCodecError.trailingBytes(1)) { try MetadataRecord.decode(exactly: buffer) }
    }

    @Test func unassignedKindsAreUnknown() {
        for tag: UInt8 in [0, 14, 255] {
            #expect(throws: MetadataCodecError.unknownKind(tag)) {
                try MetadataRecord.decode(exactly: ByteBuffer(bytes: [tag, 0]))
            }
        }
    }

    @Test func newerLayoutVersionIsRefused() {
        var bytes = Fixture.bytes(Self.samples[1].encoded())
        bytes[1] = 1
        #expect(throws: MetadataCodecError.unsupportedVersion(kind: "fenceBroker", version: 1)) {
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes))
        }
    }

    @Test func illegalTopicNameIsRefused() {
        var buffer = ByteBuffer(bytes: [4, 0, 0, 3])
        buffer.writeString("a/b")
        buffer.writeBytes([UInt8](repeating: 1, count: 16))
        #expect(throws: MetadataCodecError.self) { try MetadataRecord.decode(exactly: buffer) }
    }

    @Test func presenceFlagOtherThanZeroOrOneIsRefused() {
        var bytes = Fixture.bytes(Self.samples[5].encoded())
        bytes[bytes.count - 4] = 2  // leader.present, before isr, replicas and isrRestartedUnclean
        #expect(throws: MetadataCodecError.invalidValue(field: "leader.present", reason: "flag is 2, not 0 or 1")) {
            try MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes))
        }
    }

    @Test func hugeCountsAreRefusedBeforeAllocating() {
        // A batch claiming 4 billion records in 5 bytes.
        #expect(throws: MetadataCodecError.countTooLarge(field: "batch.count", count: 0xFFFF_FFFF, max: MetadataRecordBatch.recordsMax)) {
            try MetadataRecordBatch.decode([0, 0xFF, 0xFF, 0xFF, 0xFF])
        }
        // A replica list of 65535 members.
        var buffer = ByteBuffer(bytes: [5, 0])
        buffer.writeBytes([UInt8](repeating: 0, count: 20))
        buffer.writeBytes([0xFF, 0xFF])
        #expect(throws: MetadataCodecError.countTooLarge(field: "replicas", count: 0xFFFF, max: MetadataReader.replicasMax)) {
            try MetadataRecord.decode(exactly: buffer)
        }
    }

    @Test func randomAndMutatedBytesThrowOrDecodeButNeverTrap() {
        var random = SplitMix64(seed: 7)
        let valid = MetadataRecordBatch(Self.samples).encodedBytes()
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = valid
                for _ in 0...random.next(below: 4) {
                    bytes[Int(random.next(below: UInt64(bytes.count)))] = UInt8(truncatingIfNeeded: random.next())
                }
            } else {
                bytes = (0..<random.next(below: 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if !bytes.isEmpty { bytes[0] = 0 }
            }
            if (try? MetadataRecordBatch.decode(bytes)) != nil { decoded += 1 }
        }
        // Some mutations only change values (a port, an epoch) and must still decode.
        #expect(decoded > 0)
    }
}
