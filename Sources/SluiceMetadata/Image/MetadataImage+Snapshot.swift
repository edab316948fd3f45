import NIOCore
import SluiceCore
import SluiceWire

/// A snapshot of the image, for Raft snapshots that bound the metadata log (DESIGN §2.1).
///
/// A snapshot is the list of records that rebuild the image from empty (as KRaft does), so
/// the record codec is its only format:
/// ```
/// snapshot = version UInt8 (0) | count UInt32 | (length UInt32 | record) × count
/// ```
/// Order: brokers by id (RegisterBroker, then UnfenceBroker if unfenced), broker configs by
/// id and key, topics by name (Topic, its configs by key, its partitions by index, each a
/// `PartitionRecord` with its current epochs), one `ProducerIds` block from 0 to the next
/// free id, then groups by id (GroupState, then its OffsetCommits by topic and partition). The Raft index and term travel in Raft's own snapshot metadata.
extension MetadataImage {
    /// The records that rebuild this image from `.empty`, in the documented order.
    public func snapshotRecords() -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for id in brokers.keys.sorted() {
            let broker = brokers[id]!
            records.append(
                .registerBroker(
                    RegisterBrokerRecord(
                        nodeID: id, incarnation: broker.incarnation, clientEndpoint: broker.clientEndpoint,
                        interNodeEndpoint: broker.interNodeEndpoint)))
            if !broker.isFenced {
                records.append(.unfenceBroker(UnfenceBrokerRecord(nodeID: id, incarnation: broker.incarnation)))
            }
        }
        for id in brokerConfigs.keys.sorted() {
            for (key, value) in brokerConfigs[id]!.sorted(by: { $0.key < $1.key }) {
                records.append(.config(ConfigRecord(resource: .broker(id), key: key, value: value)))
            }
        }
        for name in topicIDsByName.keys.sorted() {
            let topic = topicsByID[topicIDsByName[name]!]!
            records.append(.topic(TopicRecord(name: name, topicID: topic.topicID)))
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                records.append(.config(ConfigRecord(resource: .topic(name), key: key, value: value)))
            }
            for (index, state) in topic.partitions.enumerated() {
                records.append(
                    .partition(
                        PartitionRecord(
                            topicID: topic.topicID, partition: PartitionIndex(Int32(index)), replicas: state.replicas,
                            isr: state.isr, leader: state.leader, leaderEpoch: state.leaderEpoch,
                            partitionEpoch: state.partitionEpoch, isrRestartedUnclean: state.isrRestartedUnclean)))
            }
        }
        if nextProducerID.rawValue > 0 {
            records.append(.producerIDs(ProducerIDsRecord(blockStart: 0, blockSize: nextProducerID.rawValue)))
        }
        records += groupSnapshotRecords()
        return records
    }

    /// The snapshot as the `data` of a Raft snapshot.
    public func snapshotBytes() -> [UInt8] {
        let records = snapshotRecords()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(records.count), endianness: .big)
        for record in records {
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(UInt32(0), endianness: .big)
            record.encode(into: &buffer)
            buffer.setInteger(UInt32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex, endianness: .big)
        }
        return Array(buffer.readableBytesView)
    }

    /// Rebuilds the image a snapshot describes, as of Raft entry `index` in `term`.
    /// Unlike a committed entry, a snapshot that does not apply cleanly is refused whole: a
    /// node must not serve from a partial image, so it fetches the snapshot again instead.
    public init(snapshotBytes bytes: [UInt8], index: RaftIndex, term: RaftTerm) throws(MetadataError) {
        let records: [MetadataRecord]
        do {
            records = try Self.decodeSnapshot(bytes)
        } catch {
            throw .undecodable(error)
        }
        self.init()
        for record in records { try apply(record) }
        lastAppliedIndex = index
        lastAppliedTerm = term
    }

    private static func decodeSnapshot(_ bytes: [UInt8]) throws(MetadataCodecError) -> [MetadataRecord] {
        var reader = MetadataReader(buffer: ByteBuffer(bytes: bytes))
        let version = try reader.integer(UInt8.self, "snapshot.version")
        guard version == 0 else { throw .unsupportedVersion(kind: "snapshot", version: version) }
        let count = Int(try reader.integer(UInt32.self, "snapshot.count"))
        // Every record takes at least its length, kind and version: 6 bytes.
        guard count * 6 <= reader.remaining else {
            throw .truncated(field: "snapshot.records", needed: count * 6, available: reader.remaining)
        }
        var records: [MetadataRecord] = []
        records.reserveCapacity(count)
        for index in 0..<count {
            let field = "snapshot.records[\(index)]"
            let length = Int(try reader.integer(UInt32.self, field + ".length"))
            guard length <= MetadataRecordBatch.recordBytesMax else {
                throw .countTooLarge(field: field, count: length, max: MetadataRecordBatch.recordBytesMax)
            }
            guard length <= reader.remaining else {
                throw .truncated(field: field, needed: length, available: reader.remaining)
            }
            records.append(try MetadataRecord.decode(exactly: reader.buffer.readSlice(length: length)!))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        return records
    }
}
