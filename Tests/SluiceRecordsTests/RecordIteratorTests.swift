import NIOCore
import SluiceCore
import Testing

@testable import SluiceRecords

@Suite struct RecordIteratorTests {
    @Test(arguments: [CompressionCodec.none, .lz4, .gzip])
    func builtRecordsDecodeToWhatWasAppended(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder(codec: codec)
        builder.append(key: Array("k0".utf8), value: Array("v0".utf8),
                       headers: [RecordHeader(key: "trace", value: Array("abc".utf8)), RecordHeader(key: "n", value: nil as [UInt8]?)],
                       timestamp: 1000)
        builder.append(key: nil, value: Array("no key".utf8), timestamp: 990)
        builder.append(key: Array("tombstone".utf8), value: nil, timestamp: 1_000_000)
        builder.append(key: [], value: [], timestamp: -1)
        var batch = try RecordBatch(validating: builder.build().bytes)
        batch.assign(baseOffset: 100, partitionLeaderEpoch: 1)
        #expect(batch.attributes.codec == codec)
        #expect(batch.maxTimestamp == 1_000_000)

        let records = try batch.decodeRecords()
        #expect(records.map(\.offset) == [100, 101, 102, 103])
        #expect(records.map(\.timestamp) == [1000, 990, 1_000_000, -1])
        #expect(records.map { $0.key?.string } == ["k0", nil, "tombstone", ""])
        #expect(records.map { $0.value?.string } == ["v0", "no key", nil, ""])
        #expect(records[0].headers == [RecordHeader(key: "trace", value: Array("abc".utf8)),
                                       RecordHeader(key: "n", value: nil as [UInt8]?)])
        #expect(records[1].headers.isEmpty)
    }

    @Test func compressionShrinksRepetitiveRecords() throws {
        let plain = TestBatches.make(count: 50, codec: .none, valueBytes: 500)
        for codec in [CompressionCodec.lz4, .gzip] {
            let compressed = TestBatches.make(count: 50, codec: codec, valueBytes: 500)
            #expect(compressed.totalBytes * 5 < plain.totalBytes, "\(codec)")
            #expect(try compressed.decodeRecords() == plain.decodeRecords())
        }
    }

    @Test func lz4BuilderWritesTheFrameLibrdkafkaWrites() {
        let bytes = TestBatches.bytes(TestBatches.make(codec: .lz4))
        #expect(Array(bytes[61..<67]) == [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40])
    }

    @Test func logAppendTimeGivesEveryRecordTheMaxTimestamp() throws {
        var bytes = TestBatches.bytes(TestBatches.make(count: 3))
        bytes[22] |= 0x08
        TestBatches.fixCRC(&bytes)
        let batch = try RecordBatch(validating: ByteBuffer(bytes: bytes))
        #expect(try batch.decodeRecords().map(\.timestamp) == [batch.maxTimestamp, batch.maxTimestamp, batch.maxTimestamp])
    }

    @Test func recordLengthBeyondTheBatchIsAnErrorNotACrash() throws {
        var bytes = TestBatches.bytes(TestBatches.make(count: 1))
        bytes[61] = 0x7E  // record length varint 63, far more than remains
        let batch = RecordBatch(unchecked: ByteBuffer(bytes: bytes))
        #expect(throws: RecordBatchError.malformedRecord(recordIndex: 0,
            problem: .lengthOutOfBounds(declaredBytes: 63, remainingBytes: bytes.count - 62))) {
            try batch.decodeRecords()
        }
        #expect(RecordBatchError.malformedRecord(recordIndex: 0, problem: .invalidHeaderCount(-1)).kafkaErrorCode == 87)
    }

    @Test func fewerRecordsThanDeclaredIsAnError() throws {
        var bytes = TestBatches.bytes(TestBatches.make(count: 2))
        TestBatches.setInt32(&bytes, at: 57, 3)
        TestBatches.setInt32(&bytes, at: 23, 2)
        let batch = RecordBatch(unchecked: ByteBuffer(bytes: bytes))
        #expect(throws: RecordBatchError.malformedRecord(recordIndex: 2, problem: .badVarint(field: "length", .truncated))) {
            try batch.decodeRecords()
        }
    }

    @Test func bytesAfterTheLastRecordAreAnError() throws {
        var bytes = TestBatches.bytes(TestBatches.make(count: 2))
        bytes += [0, 0, 0]
        TestBatches.setInt32(&bytes, at: 8, Int32(bytes.count - 12))
        TestBatches.fixCRC(&bytes)
        let batch = try RecordBatch(validating: ByteBuffer(bytes: bytes))
        #expect(throws: RecordBatchError.trailingRecordBytes(count: 3)) { try batch.decodeRecords() }
    }

    @Test func offsetDeltaBeyondLastOffsetDeltaIsAnError() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: nil, value: [1], timestamp: 0)
        var bytes = TestBatches.bytes(try builder.build())
        // record: length, attributes, timestampDelta, offsetDelta at 61 + 3
        bytes[64] = 0x02  // offsetDelta 1 in a batch whose lastOffsetDelta is 0
        let batch = RecordBatch(unchecked: ByteBuffer(bytes: bytes))
        #expect(throws: RecordBatchError.malformedRecord(recordIndex: 0, problem: .offsetDeltaOutOfRange(1))) {
            try batch.decodeRecords()
        }
    }

    @Test func iteratorStopsAfterDeclaredCount() throws {
        var records = try TestBatches.make(count: 3).records()
        #expect(records.count == 3)
        var seen = 0
        while try records.next() != nil { seen += 1 }
        #expect(seen == 3)
        #expect(try records.next() == nil)
    }
}
