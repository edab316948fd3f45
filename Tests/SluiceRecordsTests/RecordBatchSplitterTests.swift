import NIOCore
import SluiceCore
import Testing

@testable import SluiceRecords

@Suite struct RecordBatchSplitterTests {
    static func blob(_ batches: [RecordBatch], extra: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        for batch in batches { buffer.writeImmutableBuffer(batch.bytes) }
        buffer.writeBytes(extra)
        return buffer
    }

    @Test func splitsConsecutiveBatchesWithoutCopying() throws {
        let batches = [TestBatches.make(count: 1), TestBatches.make(count: 2, codec: .lz4), TestBatches.make(count: 3, codec: .gzip)]
        let records = Self.blob(batches)
        var splitter = RecordBatchSplitter(records, trailingBytes: .rejectPartialTrailingBatch)
        var counts: [Int32] = []
        var positions: [Int] = []
        while let batch = try splitter.next() {
            counts.append(batch.recordsCount)
            positions.append(splitter.position)
        }
        #expect(counts == [1, 2, 3])
        #expect(positions == [batches[0].totalBytes, batches[0].totalBytes + batches[1].totalBytes, records.readableBytes])
        #expect(splitter.partialTrailingBatch == nil)
    }

    @Test func emptyBlobHasNoBatches() throws {
        var splitter = RecordBatchSplitter(ByteBuffer(), trailingBytes: .rejectPartialTrailingBatch)
        #expect(try splitter.next() == nil)
    }

    @Test(arguments: [1, 11, 12, 17, 60, 61, 100])
    func partialTrailingBatchEndsAFetchBlobCleanly(keptBytes: Int) throws {
        let whole = TestBatches.make(count: 2)
        let cut = TestBatches.make(count: 9, valueBytes: 20)
        let tail = Array(TestBatches.bytes(cut)[..<keptBytes])
        var splitter = RecordBatchSplitter(Self.blob([whole], extra: tail), trailingBytes: .allowPartialTrailingBatch)
        #expect(try splitter.next()?.recordsCount == 2)
        #expect(try splitter.next() == nil)
        #expect(splitter.partialTrailingBatch?.readableBytes == keptBytes)
        #expect(splitter.position == whole.totalBytes)
        #expect(try splitter.next() == nil)
    }

    @Test func partialTrailingBatchIsTruncationInAProduceBlob() throws {
        let whole = TestBatches.make(count: 2)
        let cut = TestBatches.make(count: 9, valueBytes: 20)
        let tail = Array(TestBatches.bytes(cut)[..<100])
        var splitter = RecordBatchSplitter(Self.blob([whole], extra: tail), trailingBytes: .rejectPartialTrailingBatch)
        _ = try splitter.next()
        let error = RecordBatchError.truncated(atByte: whole.totalBytes, batchBytes: cut.totalBytes, availableBytes: 100)
        #expect(throws: error) { try splitter.next() }
        #expect(error.kafkaErrorCode == 2)
    }

    @Test func corruptBatchLengthIsCorruptionEvenAtTheEnd() throws {
        var tail = TestBatches.bytes(TestBatches.make())
        TestBatches.setInt32(&tail, at: 8, -5)
        var splitter = RecordBatchSplitter(Self.blob([], extra: Array(tail[..<30])), trailingBytes: .allowPartialTrailingBatch)
        #expect(throws: RecordBatchError.batchTooSmall(bytes: 7)) { try splitter.next() }
    }

    @Test func wrongMagicInAPartialTailIsCorruption() throws {
        var tail = TestBatches.bytes(TestBatches.make())
        tail[16] = 0
        var splitter = RecordBatchSplitter(Self.blob([], extra: Array(tail[..<40])), trailingBytes: .allowPartialTrailingBatch)
        #expect(throws: RecordBatchError.unsupportedMagic(0)) { try splitter.next() }
    }

    @Test func hugeDeclaredLengthIsTooLargeNotPartial() throws {
        var tail = TestBatches.bytes(TestBatches.make())
        TestBatches.setInt32(&tail, at: 8, Int32.max)
        var splitter = RecordBatchSplitter(Self.blob([], extra: tail), trailingBytes: .allowPartialTrailingBatch)
        #expect(throws: RecordBatchError.batchTooLarge(bytes: 12 + Int(Int32.max), bytesMax: Limits.batchBytesMax)) {
            try splitter.next()
        }
    }

    @Test func corruptMiddleBatchStopsAtItsPosition() throws {
        let first = TestBatches.make(count: 1)
        var middle = TestBatches.bytes(TestBatches.make(count: 2))
        middle[70] ^= 0xFF
        var records = Self.blob([first], extra: middle)
        records.writeImmutableBuffer(TestBatches.make(count: 3).bytes)
        var splitter = RecordBatchSplitter(records, trailingBytes: .allowPartialTrailingBatch)
        _ = try splitter.next()
        #expect(throws: RecordBatchError.self) { try splitter.next() }
        #expect(splitter.position == first.totalBytes, "recovery truncates where the bad batch starts")
    }
}
