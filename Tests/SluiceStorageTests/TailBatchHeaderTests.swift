import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

/// `PartitionLog.forEachTailBatchHeader`: the header scan a broker rebuilds idempotent-producer
/// state from after a restart.
@Suite struct TailBatchHeaderTests {
    /// An idempotent producer's batch of `count` records starting at `sequence`.
    func producerBatch(id: ProducerID, epoch: ProducerEpoch, sequence: Int32, count: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder(producerID: id, producerEpoch: epoch, baseSequence: ProducerSequence(sequence))
        for i in 0..<count {
            builder.append(key: Array("k".utf8), value: [UInt8](repeating: UInt8(i & 0xff), count: 100), timestamp: RecordTimestamp(1_000 + Int64(i)))
        }
        return try! builder.build().bytes
    }

    func headers(_ log: PartitionLog, segmentsMax: Int = PartitionLog.tailHeaderSegmentsDefault) throws -> [BatchHeader] {
        var seen: [BatchHeader] = []
        try log.forEachTailBatchHeader(segmentsMax: segmentsMax) { seen.append($0) }
        return seen
    }

    @Test(arguments: FileSystemKind.allCases)
    func theScanReturnsEachBatchsProducerFieldsAcrossARollAndAReopen(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        var config = LogConfig()
        config.segmentBytes = 1024  // about five 200-byte batches per segment
        config.retentionMilliseconds = nil
        var log = try PartitionLog(fileSystem: dir.fileSystem, directory: dir.file("t-0"), config: config, nowMs: 0)
        var appended: [(base: Offset, sequence: Int32)] = []
        for i in 0..<12 {
            let bytes = i == 5 ? makeBatch(tag: "plain", count: 1, valueBytes: 10, timestamp: 1)
                               : producerBatch(id: 7, epoch: 2, sequence: Int32(i * 2), count: 2)
            appended.append((try log.appendAsLeader(bytes, leaderEpoch: 0, nowMs: 0).firstOffset, Int32(i * 2)))
        }
        #expect(log.segmentCount >= 3, "the batches span several segments")
        let tailBases = Set(log.segmentBaseOffsets.suffix(2))
        let firstTail = try #require(tailBases.min())

        for pass in 0..<2 {
            let seen = try headers(log)
            let expected = appended.filter { $0.base >= firstTail }
            #expect(seen.map(\.baseOffset) == expected.map(\.base), "pass \(pass): the last two segments' batches, in order")
            for header in seen {
                let i = try #require(appended.firstIndex { $0.base == header.baseOffset })
                if i == 5 {
                    #expect(header.producerID == .none && header.baseSequence == .none && header.lastOffset == header.baseOffset)
                } else {
                    #expect(header.producerID == 7 && header.producerEpoch == 2)
                    #expect(header.baseSequence.rawValue == appended[i].sequence && header.lastSequence.rawValue == appended[i].sequence + 1)
                    #expect(header.lastOffsetDelta == 1 && header.lastOffset == header.baseOffset.advanced(by: 1))
                    #expect(!header.attributes.isControl && !header.attributes.isTransactional)
                }
            }
            #expect(try headers(log, segmentsMax: 1).map(\.baseOffset) == appended.filter { $0.base >= log.segmentBaseOffsets.last! }.map(\.base))
            #expect(try headers(log, segmentsMax: 100).map(\.baseOffset) == appended.map(\.base))
            // The same answers from the files alone, after closing and reopening.
            try log.close(nowMs: 0)
            log = try PartitionLog(fileSystem: dir.fileSystem, directory: dir.file("t-0"), config: config, nowMs: 0)
        }
    }

    @Test func anEmptyLogHasNoHeaders() throws {
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: LogConfig(), nowMs: 0)
        #expect(try headers(log).isEmpty)
    }
}
