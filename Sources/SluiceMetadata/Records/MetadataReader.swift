import NIOCore
import SluiceCore
import SluiceWire

/// The bounded primitive reader behind `MetadataRecord` decoding. Every length and count is
/// checked against its limit and against the bytes that remain before anything is allocated.
struct MetadataReader {
    var buffer: ByteBuffer

    /// Longest string in a record (hosts, config keys and values); Kafka's INT16 string limit.
    static let stringBytesMax = Int(Int16.max)
    /// Most replicas a partition may list; far above any sane replication factor.
    static let replicasMax = 256

    var remaining: Int { buffer.readableBytes }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ field: String)
        throws(MetadataCodecError) -> T
    {
        guard let value = buffer.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(field: field, needed: MemoryLayout<T>.size, available: remaining)
        }
        return value
    }

    mutating func flag(_ field: String) throws(MetadataCodecError) -> Bool {
        switch try integer(UInt8.self, field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field, reason: "flag is \(other), not 0 or 1")
        }
    }

    mutating func uuid(_ field: String) throws(MetadataCodecError) -> KafkaUUID {
        let high = try integer(UInt64.self, field)
        let low = try integer(UInt64.self, field)
        return KafkaUUID(high: high, low: low)
    }

    mutating func nodeID(_ field: String) throws(MetadataCodecError) -> NodeID {
        NodeID(try integer(Int32.self, field))
    }

    mutating func string(_ field: String) throws(MetadataCodecError) -> String {
        let length = Int(try integer(UInt16.self, field))
        guard length <= Self.stringBytesMax else {
            throw .countTooLarge(field: field, count: length, max: Self.stringBytesMax)
        }
        guard length <= remaining else {
            throw .truncated(field: field, needed: length, available: remaining)
        }
        let bytes = buffer.readSlice(length: length)!
        // Strict decoding: a string that is not valid UTF-8 is corrupt, not repaired.
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw .invalidValue(field: field, reason: "not valid UTF-8")
        }
        return text
    }

    mutating func topicName(_ field: String) throws(MetadataCodecError) -> TopicName {
        let text = try string(field)
        do {
            return try TopicName(validating: text)
        } catch {
            throw .invalidValue(field: field, reason: error.description)
        }
    }

    mutating func endpoint(_ field: String) throws(MetadataCodecError) -> BrokerEndpoint {
        let host = try string(field + ".host")
        let port = try integer(UInt16.self, field + ".port")
        return BrokerEndpoint(host: host, port: port)
    }

    mutating func nodeList(_ field: String) throws(MetadataCodecError) -> [NodeID] {
        let count = Int(try integer(UInt16.self, field))
        guard count <= Self.replicasMax else {
            throw .countTooLarge(field: field, count: count, max: Self.replicasMax)
        }
        guard count * 4 <= remaining else {
            throw .truncated(field: field, needed: count * 4, available: remaining)
        }
        var nodes: [NodeID] = []
        nodes.reserveCapacity(count)
        for _ in 0..<count { nodes.append(try nodeID(field)) }
        return nodes
    }
}

/// The writer counterpart; layouts mirror `MetadataReader` exactly.
extension ByteBuffer {
    mutating func writeMetadataFlag(_ value: Bool) { writeInteger(UInt8(value ? 1 : 0)) }

    mutating func writeMetadataUUID(_ value: KafkaUUID) {
        writeInteger(value.high, endianness: .big)
        writeInteger(value.low, endianness: .big)
    }

    mutating func writeMetadataString(_ value: String) {
        let length = value.utf8.count
        precondition(
            length <= MetadataReader.stringBytesMax,
            "metadata string of \(length) bytes exceeds \(MetadataReader.stringBytesMax)")
        writeInteger(UInt16(length), endianness: .big)
        writeString(value)
    }

    mutating func writeMetadataEndpoint(_ value: BrokerEndpoint) {
        writeMetadataString(value.host)
        writeInteger(value.port, endianness: .big)
    }

    mutating func writeMetadataNodeList(_ nodes: [NodeID]) {
        precondition(nodes.count <= MetadataReader.replicasMax, "replica list longer than the limit")
        writeInteger(UInt16(nodes.count), endianness: .big)
        for node in nodes { writeInteger(node.rawValue, endianness: .big) }
    }
}
