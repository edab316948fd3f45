import NIOCore
import SluiceCore
import Testing

@testable import SluiceRecords

@Suite struct RecordBatchTests {
    @Test func builtBatchValidatesAndCarriesItsHeaderFields() throws {
        let built = TestBatches.make(count: 4)
        let batch = try RecordBatch(validating: built.bytes)
        #expect(batch.baseOffset == 0)
        #expect(Int(batch.batchLength) == batch.totalBytes - 12)
        #expect(batch.partitionLeaderEpoch == .unknown)
        #expect(batch.magic == 2)
        #expect(batch.crc == batch.computeCRC())
        #expect(batch.attributes.codec == CompressionCodec.none)
        #expect(batch.attributes.timestampType == .createTime)
        #expect(!batch.attributes.isTransactional && !batch.attributes.isControl)
        #expect(batch.lastOffsetDelta == 3)
        #expect(batch.recordsCount == 4)
        #expect(batch.baseTimestamp == 1_700_000_000_000)
        #expect(batch.maxTimestamp == 1_700_000_000_030)
        #expect(batch.producerID == 42)
        #expect(batch.producerEpoch == 3)
        #expect(batch.baseSequence == 17)
        #expect(batch.lastSequence == 20)
        #expect(batch.lastOffset == 3)
        #expect(batch.nextOffset == 4)
    }

    @Test func headerBytesMatchTheDocumentedLayout() {
        let bytes = TestBatches.bytes(TestBatches.make(count: 2))
        #expect(bytes[0..<8] == [0, 0, 0, 0, 0, 0, 0, 0])  // baseOffset 0
        #expect(bytes[12..<16] == [0xFF, 0xFF, 0xFF, 0xFF])  // partitionLeaderEpoch -1
        #expect(bytes[16] == 2)  // magic
        #expect(bytes[21..<23] == [0, 0])  // attributes
        #expect(bytes[23..<27] == [0, 0, 0, 1])  // lastOffsetDelta
        #expect(bytes[43..<51] == [0, 0, 0, 0, 0, 0, 0, 42])  // producerId
        #expect(bytes[57..<61] == [0, 0, 0, 2])  // recordsCount
    }

    @Test func assigningOffsetAndEpochKeepsTheCRCValid() throws {
        var batch = TestBatches.make(count: 5)
        let crcBefore = batch.crc
        batch.assign(baseOffset: 1_000_000, partitionLeaderEpoch: 7)
        #expect(batch.baseOffset == 1_000_000)
        #expect(batch.partitionLeaderEpoch == 7)
        #expect(batch.lastOffset == 1_000_004)
        #expect(batch.crc == crcBefore)
        #expect(batch.isCRCValid)
        let revalidated = try RecordBatch(validating: batch.bytes)
        #expect(try revalidated.decodeRecords().map(\.offset) == [1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004])
    }

    @Test func assigningInsideALargerBufferPatchesOnlyThatBatch() throws {
        let first = TestBatches.make(count: 2)
        let second = TestBatches.make(count: 3)
        var log = ByteBuffer()
        log.writeImmutableBuffer(first.bytes)
        log.writeImmutableBuffer(second.bytes)
        RecordBatch.assign(baseOffset: 2, partitionLeaderEpoch: 9, in: &log, at: first.totalBytes)
        var splitter = RecordBatchSplitter(log, trailingBytes: .rejectPartialTrailingBatch)
        let a = try #require(try splitter.next())
        let b = try #require(try splitter.next())
        #expect(a.baseOffset == 0 && a.partitionLeaderEpoch == .unknown)
        #expect(b.baseOffset == 2 && b.partitionLeaderEpoch == 9)
    }

    @Test func patchingAFieldTheCRCCoversIsDetected() {
        var bytes = TestBatches.bytes(TestBatches.make())
        bytes[40] ^= 0x01  // inside maxTimestamp
        #expect(throws: RecordBatchError.self) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
        do {
            _ = try RecordBatch(validating: ByteBuffer(bytes: bytes))
        } catch {
            guard case .crcMismatch(let stored, let computed) = error else {
                Issue.record("expected crcMismatch, got \(error)"); return
            }
            #expect(stored != computed)
            #expect(error.kafkaErrorCode == 2)
        }
    }

    @Test func fewerThanSixtyOneBytesIsTooSmall() {
        let bytes = Array(TestBatches.bytes(TestBatches.make())[..<60])
        #expect(throws: RecordBatchError.batchTooSmall(bytes: 60)) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
        #expect(RecordBatchError.batchTooSmall(bytes: 60).kafkaErrorCode == 2)
    }

    @Test func batchOverTheSizeLimitIsTooLargeWithMessageTooLarge() {
        let batch = TestBatches.make(count: 10, valueBytes: 200)
        let error = RecordBatchError.batchTooLarge(bytes: batch.totalBytes, bytesMax: 1000)
        #expect(throws: error) { try RecordBatch(validating: batch.bytes, bytesMax: 1000) }
        #expect(error.kafkaErrorCode == 10)
    }

    @Test func magicOtherThanTwoIsRejected() {
        var bytes = TestBatches.bytes(TestBatches.make())
        bytes[16] = 1
        #expect(throws: RecordBatchError.unsupportedMagic(1)) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
    }

    @Test func batchLengthDisagreeingWithTheBufferIsRejected() {
        var bytes = TestBatches.bytes(TestBatches.make())
        let total = bytes.count
        bytes.append(0)
        #expect(throws: RecordBatchError.lengthMismatch(declaredBytes: total, actualBytes: total + 1)) {
            try RecordBatch(validating: ByteBuffer(bytes: bytes))
        }
        TestBatches.setInt32(&bytes, at: 8, 20)
        #expect(throws: RecordBatchError.batchTooSmall(bytes: 32)) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
    }

    @Test func recordsCountMustEqualLastOffsetDeltaPlusOne() {
        var bytes = TestBatches.bytes(TestBatches.make(count: 3))
        TestBatches.setInt32(&bytes, at: 57, 4)
        TestBatches.fixCRC(&bytes)
        let error = RecordBatchError.invalidRecordsCount(recordsCount: 4, lastOffsetDelta: 2)
        #expect(throws: error) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
        #expect(error.kafkaErrorCode == 87)
    }

    @Test func zeroRecordsIsRejected() {
        var bytes = TestBatches.bytes(TestBatches.make(count: 1))
        TestBatches.setInt32(&bytes, at: 57, 0)
        TestBatches.setInt32(&bytes, at: 23, -1)
        TestBatches.fixCRC(&bytes)
        #expect(throws: RecordBatchError.invalidRecordsCount(recordsCount: 0, lastOffsetDelta: -1)) {
            try RecordBatch(validating: ByteBuffer(bytes: bytes))
        }
    }

    @Test(arguments: [UInt8(2), 4, 5, 7])
    func snappyZstdAndUndefinedCodecsAreUnsupported(codecID: UInt8) {
        var bytes = TestBatches.bytes(TestBatches.make())
        bytes[22] = codecID
        TestBatches.fixCRC(&bytes)
        let error = RecordBatchError.unsupportedCompression(codecID: codecID)
        #expect(throws: error) { try RecordBatch(validating: ByteBuffer(bytes: bytes)) }
        #expect(error.kafkaErrorCode == 76)
        #expect(throws: error) { try RecordBatch(unchecked: ByteBuffer(bytes: bytes)).decodeRecords() }
    }

    @Test func builderRefusesSnappyAndZstd() {
        for codec in [CompressionCodec.snappy, .zstd] {
            var builder = RecordBatchBuilder(codec: codec)
            builder.append(key: nil, value: [1], timestamp: 0)
            #expect(throws: RecordBatchError.unsupportedCompression(codecID: codec.rawValue)) { try builder.build() }
        }
    }

    @Test func attributesRoundTripEveryFlag() {
        let attributes = RecordBatchAttributes(codec: .lz4, timestampType: .logAppendTime,
                                               isTransactional: true, isControl: true)
        #expect(attributes.rawValue == 0b0011_1011)
        #expect(attributes.codec == .lz4)
        #expect(attributes.timestampType == .logAppendTime)
        #expect(attributes.isTransactional && attributes.isControl && !attributes.hasDeleteHorizon)
        #expect(RecordBatchAttributes(rawValue: 0x46).hasDeleteHorizon)
        #expect(RecordBatchAttributes(rawValue: 0x06).codec == nil)
    }

    @Test func transactionalFlagIsWrittenByTheBuilder() throws {
        var builder = RecordBatchBuilder(producerID: 5, producerEpoch: 1, baseSequence: 0, isTransactional: true)
        builder.append(key: nil, value: [1, 2, 3], timestamp: 10)
        let batch = try RecordBatch(validating: builder.build().bytes)
        #expect(batch.attributes.isTransactional)
    }
}
