import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Image snapshots")
struct SnapshotTests {
    /// A cluster with a fenced broker, configs, several topics and producer ids in use.
    static func busyImage() -> MetadataImage {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.createTopics(
            [
                CreateTopicRequest(name: "a", numPartitions: 3, replicationFactor: 2, configs: ["retention.ms": "5"]),
                CreateTopicRequest(name: "b", numPartitions: 1, replicationFactor: 3),
            ], validateOnly: false)
        _ = controller.allocateProducerIDs(count: 700)
        _ = controller.brokerHeartbeat(Fixture.heartbeat(1), nowMs: 5_000)
        _ = controller.brokerHeartbeat(Fixture.heartbeat(2), nowMs: 5_000)
        _ = controller.tick(nowMs: 9_000)  // fences 3, moves its leaderships
        var image = controller.image
        try! image.apply(.config(ConfigRecord(resource: .broker(2), key: "k", value: "v")))
        image.markApplied(index: 41, term: 3)
        return image
    }

    @Test func snapshotRestoresAnEqualImage() throws {
        let image = Self.busyImage()
        #expect(image.brokers[3]?.isFenced == true && image.nextProducerID == 700)
        let restored = try MetadataImage(snapshotBytes: image.snapshotBytes(), index: 41, term: 3)
        #expect(restored == image)
    }

    @Test func emptyImageSnapshotsToNoRecords() throws {
        #expect(MetadataImage.empty.snapshotRecords().isEmpty)
        #expect(try MetadataImage(snapshotBytes: MetadataImage.empty.snapshotBytes(), index: 0, term: 0) == .empty)
    }

    @Test func truncatedOrCorruptSnapshotIsRefusedWhole() {
        let bytes = Self.busyImage().snapshotBytes()
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: MetadataError.self) { try MetadataImage(snapshotBytes: Array(bytes[..<length]), index: 1, term: 1) }
        }
        // A snapshot whose records do not apply (a partition before its topic) is refused too.
        let orphan = MetadataRecordBatch([
            .partition(PartitionRecord(topicID: KafkaUUID(high: 1, low: 1), partition: 0, replicas: [1], isr: [1], leader: 1))
        ]).encodedBytes()
        #expect(throws: MetadataError.unknownTopicID(KafkaUUID(high: 1, low: 1))) {
            try MetadataImage(snapshotBytes: orphan, index: 1, term: 1)
        }
    }
}
