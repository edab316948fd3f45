import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

private func smallConfig(segmentBytes: Int = 4096, indexIntervalBytes: Int = 256) -> LogConfig {
    var config = LogConfig()
    config.segmentBytes = segmentBytes
    config.indexIntervalBytes = indexIntervalBytes
    config.retentionMilliseconds = nil
    return config
}

@Suite struct PartitionLogTests {
    @Test(arguments: FileSystemKind.allCases)
    func appendAssignsOffsetsAndEpochsAndReadsBack(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let log = try PartitionLog(fileSystem: dir.fileSystem, directory: dir.file("t-0"), config: smallConfig(), nowMs: 0)
        let a = try log.appendAsLeader(makeBatch(tag: "a", count: 3, valueBytes: 10, timestamp: 100), leaderEpoch: 4, nowMs: 0)
        let b = try log.appendAsLeader(makeBatch(tag: "b", count: 2, valueBytes: 10, timestamp: 200), leaderEpoch: 5, nowMs: 0)
        #expect(a.firstOffset == 0 && a.lastOffset == 2 && a.recordCount == 3)
        #expect(b.firstOffset == 3 && b.lastOffset == 4)
        #expect(log.logEndOffset == 5)
        let bytes = try log.read(from: 0, maxBytes: 1 << 20)
        var splitter = RecordBatchSplitter(bytes, trailingBytes: .rejectPartialTrailingBatch)
        let first = try #require(try splitter.next())
        let second = try #require(try splitter.next())
        #expect(first.baseOffset == 0 && first.partitionLeaderEpoch == 4 && first.isCRCValid)
        #expect(second.baseOffset == 3 && second.partitionLeaderEpoch == 5)
        #expect(log.epochCache.entries == [.init(epoch: 4, startOffset: 0), .init(epoch: 5, startOffset: 3)])
        #expect(try readAll(log, from: 0).map(\.tag) == ["a", "b"])
    }

    @Test func anInvalidBatchRejectsTheWholeRequest() throws {
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: smallConfig(), nowMs: 0)
        var blob = makeBatch(tag: "ok", count: 1, valueBytes: 5, timestamp: 1)
        var bad = makeBatch(tag: "bad", count: 1, valueBytes: 5, timestamp: 1)
        bad.setInteger(UInt8(0xFF), at: bad.writerIndex - 1)  // a record byte: the CRC no longer matches
        blob.writeBuffer(&bad)
        #expect {
            try log.appendAsLeader(blob, leaderEpoch: 0, nowMs: 0)
        } throws: { error in
            guard case .invalidBatch(.crcMismatch) = error as? LogError else { return false }
            return true
        }
        #expect(log.logEndOffset == 0, "nothing of a rejected request is appended")
        var garbage = ByteBufferAllocator().buffer(capacity: 8)
        garbage.writeBytes([1, 2, 3])
        #expect(throws: LogError.self) { try log.appendAsLeader(garbage, leaderEpoch: 0, nowMs: 0) }
    }

    @Test func readReturnsWholeBatchesAtLeastOneAndStopsAtMaxOffset() throws {
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: smallConfig(segmentBytes: 1 << 20), nowMs: 0)
        for i in 0..<5 { _ = try log.appendAsLeader(makeBatch(tag: "b\(i)", count: 2, valueBytes: 100, timestamp: 0), leaderEpoch: 0, nowMs: 0) }
        let one = try log.read(from: 3, maxBytes: 1)
        var splitter = RecordBatchSplitter(one, trailingBytes: .rejectPartialTrailingBatch)
        #expect(try splitter.next()?.baseOffset == 2, "the batch containing offset 3 starts at 2")
        #expect(try splitter.next() == nil, "only one batch fits, and one is always returned")
        #expect(try log.read(from: 3, maxBytes: 1, minOneBatch: false).readableBytes == 0)
        let belowHW = try log.read(from: 0, maxBytes: 1 << 20, maxOffset: 6)
        var s2 = RecordBatchSplitter(belowHW, trailingBytes: .rejectPartialTrailingBatch)
        var bases: [Offset] = []
        while let batch = try s2.next() { bases.append(batch.baseOffset) }
        #expect(bases == [0, 2, 4])
        #expect(try log.read(from: 10, maxBytes: 100).readableBytes == 0, "reading at the log end is empty")
        #expect(throws: LogError.offsetOutOfRange(requested: 11, logStartOffset: 0, logEndOffset: 10)) {
            try log.read(from: 11, maxBytes: 100)
        }
    }

    @Test func rollsOnSegmentBytesAndAge() throws {
        var config = smallConfig(segmentBytes: 2048)
        config.segmentMilliseconds = 1000
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: config, nowMs: 0)
        for i in 0..<10 { _ = try log.appendAsLeader(makeBatch(tag: "x\(i)", count: 1, valueBytes: 500, timestamp: 0), leaderEpoch: 0, nowMs: 0) }
        #expect(log.segmentCount >= 3, "2 KiB segments hold three 570-byte batches")
        let before = log.segmentCount
        _ = try log.appendAsLeader(makeBatch(tag: "late", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 0, nowMs: 5000)
        #expect(log.segmentCount == before + 1, "an old active segment rolls")
        #expect(try readAll(log, from: 0).count == 11)
    }

    @Test func retentionDeletesOnlyOldClosedSegmentsBelowTheHighWatermark() throws {
        var config = smallConfig(segmentBytes: 2048)
        config.retentionBytes = 4096
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: config, nowMs: 0)
        for i in 0..<20 { _ = try log.appendAsLeader(makeBatch(tag: "r\(i)", count: 1, valueBytes: 500, timestamp: 0), leaderEpoch: 0, nowMs: 0) }
        #expect(try log.applyRetention(nowMs: 0) == 0, "nothing goes while the high watermark is 0")
        try log.updateHighWatermark(log.logEndOffset)
        let deleted = try log.applyRetention(nowMs: 0)
        #expect(deleted > 0)
        #expect(log.sizeInBytes - 2048 < 4096, "deletes until the log is within retention.bytes")
        #expect(log.logStartOffset == log.segmentBaseOffsets.first!)
        #expect(throws: LogError.self) { try log.read(from: 0, maxBytes: 100) }
        #expect(try readAll(log, from: log.logStartOffset).last?.tag == "r19")

        var timed = smallConfig(segmentBytes: 2048)
        timed.retentionMilliseconds = 1000
        let log2 = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-1", config: timed, nowMs: 0)
        for i in 0..<9 { _ = try log2.appendAsLeader(makeBatch(tag: "t\(i)", count: 1, valueBytes: 500, timestamp: Int64(i) * 100), leaderEpoch: 0, nowMs: 0) }
        try log2.updateHighWatermark(log2.logEndOffset)
        #expect(try log2.applyRetention(nowMs: 1100) == 0, "newest record of the first segment is 200 ms old + 1000 > 1100")
        #expect(try log2.applyRetention(nowMs: 1250) == 1)
        #expect(log2.segmentCount >= 2, "the active segment is never deleted")
    }

    @Test func truncateDropsWholeBatchesAndTheirEpochs() throws {
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: smallConfig(), nowMs: 0)
        for (i, epoch) in [1, 1, 2, 3].enumerated() {
            _ = try log.appendAsLeader(makeBatch(tag: "e\(i)", count: 3, valueBytes: 300, timestamp: 0), leaderEpoch: LeaderEpoch(Int32(epoch)), nowMs: 0)
        }
        #expect(log.segmentCount >= 1)
        #expect(try log.truncate(to: 7, nowMs: 0) == 6, "offset 7 is inside the batch 6...8, which goes whole")
        #expect(log.epochCache.entries.map(\.epoch) == [1], "epoch 2 began at offset 6, which is gone")
        #expect(try readAll(log, from: 0).map(\.tag) == ["e0", "e1"])
        _ = try log.appendAsLeader(makeBatch(tag: "new", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 4, nowMs: 0)
        #expect(try readAll(log, from: 0).map(\.baseOffset) == [0, 3, 6])
        #expect(try log.truncate(to: 0, nowMs: 0) == 0)
        #expect(log.logEndOffset == 0)
    }

    @Test func followerAppendMustContinueTheLog() throws {
        let leader = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/l", config: smallConfig(), nowMs: 0)
        _ = try leader.appendAsLeader(makeBatch(tag: "a", count: 2, valueBytes: 1, timestamp: 0), leaderEpoch: 1, nowMs: 0)
        _ = try leader.appendAsLeader(makeBatch(tag: "b", count: 2, valueBytes: 1, timestamp: 0), leaderEpoch: 1, nowMs: 0)
        let follower = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/f", config: smallConfig(), nowMs: 0)
        let fetched = try leader.read(from: 0, maxBytes: 1 << 20)
        #expect(try follower.appendAsFollower(fetched, nowMs: 0)?.lastOffset == 3)
        #expect(follower.epochCache.entries == [.init(epoch: 1, startOffset: 0)])
        #expect(throws: LogError.nonContiguousAppend(expected: 4, got: 0)) { try follower.appendAsFollower(fetched, nowMs: 0) }
    }

    @Test(arguments: FileSystemKind.allCases)
    func cleanRestartKeepsEverythingWithoutRecovery(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let path = dir.file("t-0")
        var log = try PartitionLog(fileSystem: dir.fileSystem, directory: path, config: smallConfig(), nowMs: 0)
        for i in 0..<30 { _ = try log.appendAsLeader(makeBatch(tag: "c\(i)", count: 2, valueBytes: 200, timestamp: Int64(i)), leaderEpoch: 2, nowMs: 0) }
        try log.updateHighWatermark(40)
        let before = try readAll(log, from: 0)
        try log.close(nowMs: 0)
        log = try PartitionLog(fileSystem: dir.fileSystem, directory: path, config: smallConfig(), nowMs: 0)
        #expect(log.openReport.wasCleanShutdown)
        #expect(log.openReport.rebuiltIndexSegments == 0)
        #expect(try readAll(log, from: 0) == before)
        #expect(log.highWatermark == 40)
        #expect(log.epochCache.latestEpoch == 2)
        _ = try log.appendAsLeader(makeBatch(tag: "after", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 2, nowMs: 0)
        #expect(log.logEndOffset == 61, "offsets continue without a gap")
    }

    /// Appends A and syncs, then appends B, and crashes at every point of B's append (each
    /// write kept or dropped, and the next torn): A survives whole, B is there whole or not at
    /// all, and the reopened log serves only valid batches.
    @Test func crashAtEveryPointOfAnAppendLosesNothingSyncedAndServesNothingTorn() throws {
        func scenario() throws -> (SimulatedFileSystem, start: Int, end: Int) {
            let fs = SimulatedFileSystem()
            let log = try PartitionLog(fileSystem: fs, directory: "/t-0", config: smallConfig(segmentBytes: 1 << 20, indexIntervalBytes: 100), nowMs: 0)
            for i in 0..<3 { _ = try log.appendAsLeader(makeBatch(tag: "a\(i)", count: 4, valueBytes: 60, timestamp: 10), leaderEpoch: 1, nowMs: 0) }
            try log.flush(nowMs: 0)
            let start = fs.operationSequence
            _ = try log.appendAsLeader(makeBatch(tag: "b", count: 5, valueBytes: 80, timestamp: 20), leaderEpoch: 2, nowMs: 0)
            return (fs, start, fs.operationSequence)
        }
        let (_, start, end) = try scenario()
        #expect(end - start >= 2, "an append writes the log and at least one index or checkpoint")
        for point in start...end {
            for tear in [false, true] {
                let (fs, _, _) = try scenario()
                fs.crash(atOperation: point, tear: tear)
                let log = try PartitionLog(fileSystem: fs, directory: "/t-0", config: smallConfig(segmentBytes: 1 << 20, indexIntervalBytes: 100), nowMs: 0)
                let batches = try readAll(log, from: 0)
                let tags = batches.map(\.tag)
                #expect(Array(tags.prefix(3)) == ["a0", "a1", "a2"], "crash at \(point) tear \(tear) lost synced data: \(tags)")
                #expect(tags.count == 3 || tags == ["a0", "a1", "a2", "b"], "crash at \(point) tear \(tear): \(tags)")
                #expect(log.logEndOffset == (tags.count == 4 ? 17 : 12))
                _ = try log.appendAsLeader(makeBatch(tag: "c", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 3, nowMs: 0)
            }
        }
    }

    @Test func aFlippedByteInAClosedSegmentIsReportedOnRead() throws {
        let fs = SimulatedFileSystem()
        let log = try PartitionLog(fileSystem: fs, directory: "/t-0", config: smallConfig(segmentBytes: 2048), nowMs: 0)
        for i in 0..<10 { _ = try log.appendAsLeader(makeBatch(tag: "z\(i)", count: 1, valueBytes: 500, timestamp: 0), leaderEpoch: 0, nowMs: 0) }
        #expect(log.segmentCount > 1)
        fs.flipByte("/t-0/00000000000000000000.log", at: 200)
        #expect {
            try log.read(from: 0, maxBytes: 1 << 20)
        } throws: { error in
            guard case .corruptLog(let damage) = error as? LogError else { return false }
            return damage.path.hasSuffix("00000000000000000000.log") && damage.position == 0 && damage.offset == 0
                && damage.reason.contains("crc")
        }
        #expect(try log.read(from: 3, maxBytes: 1 << 20).readableBytes > 0, "later segments still serve")
    }

    @Test func indexAndTimeIndexLookupsEqualAFullScan() throws {
        var random = SplitMix64(seed: 99)
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: smallConfig(segmentBytes: 8192, indexIntervalBytes: 300), nowMs: 0)
        var model: [ModelBatch] = []
        for i in 0..<200 {
            let count = Int(random.next(below: 5)) + 1
            let ts = Int64(random.next(below: 10_000))
            let r = try log.appendAsLeader(makeBatch(tag: "i\(i)", count: count, valueBytes: Int(random.next(below: 150)), timestamp: ts), leaderEpoch: 0, nowMs: 0)
            model.append(ModelBatch(baseOffset: r.firstOffset, recordCount: count, maxTimestamp: ts + Int64(count - 1), tag: "i\(i)"))
        }
        #expect(log.segmentCount > 3)
        for offset in 0..<log.logEndOffset.rawValue {
            let bytes = try log.read(from: Offset(offset), maxBytes: 1)
            let batch = try #require(try RecordBatchSplitter(bytes, trailingBytes: .rejectPartialTrailingBatch).nextBatch())
            let expected = model.first { $0.lastOffset.rawValue >= offset }!
            #expect(batch.baseOffset == expected.baseOffset, "read from \(offset)")
        }
        for t in stride(from: Int64(-1), through: 10_010, by: 37) {
            let expected = expectedTimestampLookup(model, atLeast: t, from: log.logStartOffset)
            let found = try log.offset(forTimestamp: t)
            #expect(found?.offset == expected?.offset && found?.timestamp == expected?.timestamp, "timestamp \(t)")
        }
    }
}

extension RecordBatchSplitter {
    /// `next()` on a copy, for one-shot use in expressions.
    func nextBatch() throws -> RecordBatch? {
        var copy = self
        return try copy.next()
    }
}
