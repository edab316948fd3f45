import NIOCore
import SluiceCore

/// Builds one RecordBatch v2 from records, compressing the record section if asked, and
/// stamping the CRC. Used by the Sluice client to produce and by tests to make batches.
///
/// ```
/// var builder = RecordBatchBuilder(codec: .lz4)
/// builder.append(key: key, value: value, timestamp: now)
/// let batch = try builder.build()
/// ```
/// Offsets deltas are 0, 1, 2…; `baseTimestamp` is the first record's timestamp and
/// `maxTimestamp` the largest, as Kafka's `MemoryRecordsBuilder` writes them.
public struct RecordBatchBuilder: Sendable {
    public var codec: CompressionCodec
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    public var baseSequence: ProducerSequence
    public var isTransactional: Bool
    public var baseOffset: Offset
    public var partitionLeaderEpoch: LeaderEpoch

    /// The uncompressed record section so far.
    private var records: ByteBuffer
    private var baseTimestamp = RecordTimestamp.none
    private var maxTimestamp = RecordTimestamp.none
    public private(set) var count = 0

    public init(codec: CompressionCodec = .none, producerID: ProducerID = .none,
                producerEpoch: ProducerEpoch = .none, baseSequence: ProducerSequence = .none,
                isTransactional: Bool = false, baseOffset: Offset = .zero,
                partitionLeaderEpoch: LeaderEpoch = .unknown,
                allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.codec = codec
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.records = allocator.buffer(capacity: 1024)
    }

    /// The uncompressed size of the records appended so far (for a producer's batch-size limit).
    public var uncompressedRecordBytes: Int { records.readableBytes }

    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [],
                                timestamp: RecordTimestamp) {
        precondition(count < Limits.batchRecordsMax, "a batch holds at most \(Limits.batchRecordsMax) records")
        if count == 0 { baseTimestamp = timestamp }
        maxTimestamp = max(maxTimestamp, timestamp)
        let timestampDelta = timestamp.rawValue &- baseTimestamp.rawValue
        let offsetDelta = Int32(count)

        var bodyBytes = 1 + ByteBuffer.varLongLength(timestampDelta) + ByteBuffer.varLongLength(Int64(offsetDelta))
        bodyBytes += Self.fieldBytes(key) + Self.fieldBytes(value) + ByteBuffer.varLongLength(Int64(headers.count))
        for header in headers {
            bodyBytes += Self.fieldBytes(header.key.utf8.count) + Self.fieldBytes(header.value)
        }
        precondition(bodyBytes <= Int32.max, "record too large")

        let start = records.writerIndex
        records.writeVarInt(Int32(bodyBytes))
        let bodyStart = records.writerIndex
        records.writeInteger(Int8(0))  // attributes: unused
        records.writeVarLong(timestampDelta)
        records.writeVarInt(offsetDelta)
        writeField(key)
        writeField(value)
        records.writeVarInt(Int32(headers.count))
        for header in headers {
            records.writeVarInt(Int32(header.key.utf8.count))
            records.writeString(header.key)
            writeField(header.value)
        }
        assert(records.writerIndex - bodyStart == bodyBytes, "record size computed wrongly (from \(start))")
        count += 1
    }

    public mutating func append(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
                                timestamp: RecordTimestamp) {
        append(key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) },
               headers: headers, timestamp: timestamp)
    }

    /// The finished batch. Throws `.unsupportedCompression` for snappy/zstd, and
    /// `.batchTooLarge` if the result exceeds `bytesMax`. Precondition: at least one record.
    public func build(bytesMax: Int = Limits.batchBytesMax,
                      allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(RecordBatchError) -> RecordBatch {
        precondition(count > 0, "a record batch holds at least one record")
        let section: ByteBuffer
        do {
            section = try codec.compress(records, allocator: allocator)
        } catch {
            guard case .unsupported(let id) = error else { preconditionFailure("\(codec) compression failed: \(error)") }
            throw .unsupportedCompression(codecID: id)
        }
        let total = RecordBatch.headerBytes + section.readableBytes
        guard total <= bytesMax else { throw .batchTooLarge(bytes: total, bytesMax: bytesMax) }

        var batch = allocator.buffer(capacity: total)
        batch.writeInteger(baseOffset.rawValue)
        batch.writeInteger(Int32(total - RecordBatch.lengthPrefixBytes))
        batch.writeInteger(partitionLeaderEpoch.rawValue)
        batch.writeInteger(RecordBatch.magicV2)
        batch.writeInteger(UInt32(0))  // crc, set below
        batch.writeInteger(RecordBatchAttributes(codec: codec, isTransactional: isTransactional).rawValue)
        batch.writeInteger(Int32(count - 1))
        batch.writeInteger(baseTimestamp.rawValue)
        batch.writeInteger(maxTimestamp.rawValue)
        batch.writeInteger(producerID.rawValue)
        batch.writeInteger(producerEpoch.rawValue)
        batch.writeInteger(baseSequence.rawValue)
        batch.writeInteger(Int32(count))
        var sectionCopy = section
        batch.writeBuffer(&sectionCopy)

        let view = RecordBatch(unchecked: batch)
        batch.setInteger(view.computeCRC(), at: 17)
        return RecordBatch(unchecked: batch)
    }

    private static func fieldBytes(_ field: ByteBuffer?) -> Int {
        guard let field else { return 1 }
        return fieldBytes(field.readableBytes)
    }

    private static func fieldBytes(_ length: Int) -> Int {
        ByteBuffer.varLongLength(Int64(length)) + length
    }

    private mutating func writeField(_ field: ByteBuffer?) {
        guard let field else {
            records.writeVarInt(-1)
            return
        }
        records.writeVarInt(Int32(field.readableBytes))
        records.writeImmutableBuffer(field)
    }
}
