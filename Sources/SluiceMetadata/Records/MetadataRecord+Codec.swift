import NIOCore
import SluiceCore
import SluiceWire

/// The binary layout of a metadata record. Big-endian integers throughout.
///
/// ```
/// record   = kind UInt8 | version UInt8 | body
/// string   = length UInt16 | UTF-8 bytes (≤ 32767)
/// uuid     = high UInt64 | low UInt64            (16 bytes, Kafka's topic id layout)
/// nodes    = count UInt16 (≤ 256) | NodeID Int32 × count
/// endpoint = host string | port UInt16
/// opt(x)   = present UInt8 (0 or 1) | x if present
///
/// kind 1 RegisterBroker  nodeID Int32 | incarnation uuid | client endpoint | interNode endpoint
/// kind 2 FenceBroker     nodeID Int32 | incarnation uuid
/// kind 3 UnfenceBroker   nodeID Int32 | incarnation uuid
/// kind 4 Topic           name string (a valid topic name) | topicID uuid
/// kind 5 Partition       topicID uuid | partition Int32 | replicas nodes | isr nodes
///                        | leader Int32 | leaderEpoch Int32 | partitionEpoch Int32
///                        | v1+: isrRestartedUnclean UInt8 (0 or 1)
/// kind 6 PartitionChange topicID uuid | partition Int32 | partitionEpoch Int32
///                        | opt(leader Int32) | opt(isr nodes) | opt(replicas nodes)
///                        | v1+: opt(isrRestartedUnclean UInt8)
/// kind 7 RemoveTopic     topicID uuid
/// kind 8 Config          resourceType UInt8 (0 topic, 1 broker)
///                        | topic name string or broker NodeID Int32 | key string | opt(value string)
/// kind 9 ProducerIds     blockStart Int64 | blockSize Int64
///
/// bytes    = length UInt32 (≤ 1 MiB) | bytes
/// member   = memberID string | opt(groupInstanceID string) | clientID string | clientHost string
///            | sessionTimeoutMs Int32 | rebalanceTimeoutMs Int32 | subscription bytes
///            | opt(assignment bytes)
/// kind 10 GroupState     groupID string | protocolType string | generation Int32
///                        | opt(protocolName string) | opt(leaderID string)
///                        | phase UInt8 (0 empty, 1 completingRebalance, 2 stable)
///                        | stateChangeWallMs Int64 | count UInt32 (≤ 100000) | member × count
/// kind 11 OffsetCommit   groupID string | topic string (a valid topic name) | partition Int32
///                        | offset Int64 | leaderEpoch Int32 | opt(metadata string) | commitWallMs Int64
/// kind 12 RemoveGroup    groupID string
/// kind 13 RemoveOffset   groupID string | topic string (a valid topic name) | partition Int32
/// ```
/// A new field is added by bumping the record's version (each kind has its own); a reader
/// refuses versions newer than it knows, because skipping unknown fields of a state change
/// would make nodes disagree. An older version decodes with the new fields' defaults (v0
/// Partition and PartitionChange: not restarted unclean, flag unchanged).
extension MetadataRecord {
    /// The layout version this build writes (and the newest it reads) for `kind`.
    public static func layoutVersion(of kind: Kind) -> UInt8 {
        switch kind {
        case .partition, .partitionChange: 1
        default: 0
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(Self.layoutVersion(of: kind))
        switch self {
        case .registerBroker(let r):
            buffer.writeInteger(r.nodeID.rawValue, endianness: .big)
            buffer.writeMetadataUUID(r.incarnation)
            buffer.writeMetadataEndpoint(r.clientEndpoint)
            buffer.writeMetadataEndpoint(r.interNodeEndpoint)
        case .fenceBroker(let r):
            buffer.writeInteger(r.nodeID.rawValue, endianness: .big)
            buffer.writeMetadataUUID(r.incarnation)
        case .unfenceBroker(let r):
            buffer.writeInteger(r.nodeID.rawValue, endianness: .big)
            buffer.writeMetadataUUID(r.incarnation)
        case .topic(let r):
            buffer.writeMetadataString(r.name.rawValue)
            buffer.writeMetadataUUID(r.topicID)
        case .partition(let r):
            buffer.writeMetadataUUID(r.topicID)
            buffer.writeInteger(r.partition.rawValue, endianness: .big)
            buffer.writeMetadataNodeList(r.replicas)
            buffer.writeMetadataNodeList(r.isr)
            buffer.writeInteger(r.leader.rawValue, endianness: .big)
            buffer.writeInteger(r.leaderEpoch.rawValue, endianness: .big)
            buffer.writeInteger(r.partitionEpoch.rawValue, endianness: .big)
            buffer.writeMetadataFlag(r.isrRestartedUnclean)
        case .partitionChange(let r):
            buffer.writeMetadataUUID(r.topicID)
            buffer.writeInteger(r.partition.rawValue, endianness: .big)
            buffer.writeInteger(r.partitionEpoch.rawValue, endianness: .big)
            buffer.writeMetadataFlag(r.leader != nil)
            if let leader = r.leader { buffer.writeInteger(leader.rawValue, endianness: .big) }
            buffer.writeMetadataFlag(r.isr != nil)
            if let isr = r.isr { buffer.writeMetadataNodeList(isr) }
            buffer.writeMetadataFlag(r.replicas != nil)
            if let replicas = r.replicas { buffer.writeMetadataNodeList(replicas) }
            buffer.writeMetadataFlag(r.isrRestartedUnclean != nil)
            if let unclean = r.isrRestartedUnclean { buffer.writeMetadataFlag(unclean) }
        case .removeTopic(let r):
            buffer.writeMetadataUUID(r.topicID)
        case .config(let r):
            switch r.resource {
            case .topic(let name):
                buffer.writeInteger(UInt8(0))
                buffer.writeMetadataString(name.rawValue)
            case .broker(let id):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(id.rawValue, endianness: .big)
            }
            buffer.writeMetadataString(r.key)
            buffer.writeMetadataFlag(r.value != nil)
            if let value = r.value { buffer.writeMetadataString(value) }
        case .producerIDs(let r):
            buffer.writeInteger(r.blockStart.rawValue, endianness: .big)
            buffer.writeInteger(r.blockSize, endianness: .big)
        case .groupState(let r): r.encode(into: &buffer)
        case .offsetCommit(let r): r.encode(into: &buffer)
        case .removeGroup(let r): buffer.writeMetadataString(r.groupID)
        case .removeOffset(let r):
            buffer.writeMetadataString(r.groupID)
            buffer.writeMetadataString(r.topic.rawValue)
            buffer.writeInteger(r.partition.rawValue, endianness: .big)
        }
    }

    /// The record in a new buffer.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }

    /// Decodes exactly one record: `bytes` must hold nothing after it.
    public static func decode(exactly bytes: ByteBuffer) throws(MetadataCodecError) -> MetadataRecord {
        var reader = MetadataReader(buffer: bytes)
        let record = try decode(from: &reader)
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        return record
    }

    static func decode(from r: inout MetadataReader) throws(MetadataCodecError) -> MetadataRecord {
        let tag = try r.integer(UInt8.self, "kind")
        guard let kind = Kind(rawValue: tag) else { throw .unknownKind(tag) }
        let version = try r.integer(UInt8.self, "version")
        guard version <= layoutVersion(of: kind) else {
            throw .unsupportedVersion(kind: "\(kind)", version: version)
        }
        switch kind {
        case .registerBroker:
            return .registerBroker(
                RegisterBrokerRecord(
                    nodeID: try r.nodeID("nodeID"), incarnation: try r.uuid("incarnation"),
                    clientEndpoint: try r.endpoint("clientEndpoint"),
                    interNodeEndpoint: try r.endpoint("interNodeEndpoint")))
        case .fenceBroker:
            return .fenceBroker(
                FenceBrokerRecord(nodeID: try r.nodeID("nodeID"), incarnation: try r.uuid("incarnation")))
        case .unfenceBroker:
            return .unfenceBroker(
                UnfenceBrokerRecord(nodeID: try r.nodeID("nodeID"), incarnation: try r.uuid("incarnation")))
        case .topic:
            return .topic(TopicRecord(name: try r.topicName("name"), topicID: try r.uuid("topicID")))
        case .partition:
            var record = PartitionRecord(
                topicID: try r.uuid("topicID"),
                partition: PartitionIndex(try r.integer(Int32.self, "partition")),
                replicas: try r.nodeList("replicas"), isr: try r.nodeList("isr"),
                leader: try r.nodeID("leader"),
                leaderEpoch: LeaderEpoch(try r.integer(Int32.self, "leaderEpoch")),
                partitionEpoch: PartitionEpoch(try r.integer(Int32.self, "partitionEpoch")))
            if version >= 1 { record.isrRestartedUnclean = try r.flag("isrRestartedUnclean") }
            return .partition(record)
        case .partitionChange:
            let topicID = try r.uuid("topicID")
            let partition = PartitionIndex(try r.integer(Int32.self, "partition"))
            let epoch = PartitionEpoch(try r.integer(Int32.self, "partitionEpoch"))
            let leader = try r.flag("leader.present") ? try r.nodeID("leader") : nil
            let isr = try r.flag("isr.present") ? try r.nodeList("isr") : nil
            let replicas = try r.flag("replicas.present") ? try r.nodeList("replicas") : nil
            var unclean: Bool?
            if version >= 1, try r.flag("isrRestartedUnclean.present") { unclean = try r.flag("isrRestartedUnclean") }
            return .partitionChange(
                PartitionChangeRecord(
                    topicID: topicID, partition: partition, partitionEpoch: epoch, leader: leader,
                    isr: isr, replicas: replicas, isrRestartedUnclean: unclean))
        case .removeTopic:
            return .removeTopic(RemoveTopicRecord(topicID: try r.uuid("topicID")))
        case .config:
            let resource: ConfigResource
            switch try r.integer(UInt8.self, "resourceType") {
            case 0: resource = .topic(try r.topicName("resourceName"))
            case 1: resource = .broker(try r.nodeID("resourceName"))
            case let other:
                throw .invalidValue(field: "resourceType", reason: "unknown resource type \(other)")
            }
            let key = try r.string("key")
            let value = try r.flag("value.present") ? try r.string("value") : nil
            return .config(ConfigRecord(resource: resource, key: key, value: value))
        case .producerIDs:
            return .producerIDs(
                ProducerIDsRecord(
                    blockStart: ProducerID(try r.integer(Int64.self, "blockStart")),
                    blockSize: try r.integer(Int64.self, "blockSize")))
        case .groupState:
            return .groupState(try GroupStateRecord.decode(from: &r))
        case .offsetCommit:
            return .offsetCommit(try OffsetCommitRecord.decode(from: &r))
        case .removeGroup:
            return .removeGroup(RemoveGroupRecord(groupID: try r.string("groupID")))
        case .removeOffset:
            return .removeOffset(
                RemoveOffsetRecord(
                    groupID: try r.string("groupID"), topic: try r.topicName("topic"),
                    partition: PartitionIndex(try r.integer(Int32.self, "partition"))))
        }
    }
}
