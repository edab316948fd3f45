import NIOCore

/// The records of one Raft entry: what the controller decided in one step.
///
/// ```
/// batch  = version UInt8 (0) | count UInt32 (1 ... recordsMax) | (length UInt32 | record) × count
/// ```
/// Each record is length-prefixed so a reader can bound it before decoding and name which
/// record of the batch is corrupt.
public struct MetadataRecordBatch: Hashable, Sendable {
    /// Most records in one entry. A topic with `Controller.partitionsPerTopicMax` partitions and
    /// its configs fits with room to spare.
    public static let recordsMax = 20_000
    /// Largest encoded record; the biggest real one (a partition with 256 replicas) is ~2 KiB.
    public static let recordBytesMax = 1 << 20

    public var records: [MetadataRecord]

    public init(_ records: [MetadataRecord]) {
        precondition(!records.isEmpty && records.count <= Self.recordsMax, "batch of \(records.count) records")
        self.records = records
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(records.count), endianness: .big)
        for record in records {
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(UInt32(0), endianness: .big)
            record.encode(into: &buffer)
            let length = buffer.writerIndex - lengthIndex - 4
            buffer.setInteger(UInt32(length), at: lengthIndex, endianness: .big)
        }
    }

    /// The batch as the bytes of a Raft entry.
    public func encodedBytes() -> [UInt8] {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Decodes a whole Raft entry payload.
    public static func decode(_ bytes: [UInt8]) throws(MetadataCodecError) -> MetadataRecordBatch {
        var reader = MetadataReader(buffer: ByteBuffer(bytes: bytes))
        let version = try reader.integer(UInt8.self, "batch.version")
        guard version == 0 else { throw .unsupportedVersion(kind: "batch", version: version) }
        let count = Int(try reader.integer(UInt32.self, "batch.count"))
        guard count >= 1 else { throw .invalidValue(field: "batch.count", reason: "empty batch") }
        guard count <= recordsMax else { throw .countTooLarge(field: "batch.count", count: count, max: recordsMax) }
        // Every record takes at least its length, kind and version: 6 bytes.
        guard count * 6 <= reader.remaining else {
            throw .truncated(field: "batch.records", needed: count * 6, available: reader.remaining)
        }
        var records: [MetadataRecord] = []
        records.reserveCapacity(count)
        for index in 0..<count {
            let field = "batch.records[\(index)]"
            let length = Int(try reader.integer(UInt32.self, field + ".length"))
            guard length <= recordBytesMax else {
                throw .countTooLarge(field: field, count: length, max: recordBytesMax)
            }
            guard length <= reader.remaining else {
                throw .truncated(field: field, needed: length, available: reader.remaining)
            }
            let slice = reader.buffer.readSlice(length: length)!
            records.append(try MetadataRecord.decode(exactly: slice))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        return MetadataRecordBatch(records)
    }
}
