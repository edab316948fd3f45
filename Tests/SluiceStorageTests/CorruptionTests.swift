import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

/// Bit rot in a closed segment, on real files: every read verifies each batch it returns (CRC
/// and offsets), a damaged batch is reported with its file, position and offset and never
/// served, reopening does not hide it, and cutting the log back to it heals the log.
@Suite struct CorruptionTests {
    static let batchCount = 30

    /// A log of `batchCount` one-record batches of equal size over several segments, and that size.
    func makeLog(_ directory: TestDirectory) throws -> (PartitionLog, batchBytes: Int64) {
        var config = LogConfig()
        config.segmentBytes = 2048
        config.indexIntervalBytes = 256
        config.retentionMilliseconds = nil
        let log = try PartitionLog(fileSystem: directory.fileSystem, directory: directory.file("t-0"), config: config, nowMs: 0)
        var bytes = 0
        for i in 0..<Self.batchCount {
            bytes = try log.appendAsLeader(makeBatch(tag: "b\(i + 10)", count: 1, valueBytes: 100, timestamp: Int64(i)),
                                           leaderEpoch: 1, nowMs: 0).bytes
        }
        #expect(log.segmentCount > 2)
        return (log, Int64(bytes))
    }

    func flipByte(_ directory: TestDirectory, segment: String = "00000000000000000000.log", at position: Int64) throws {
        let file = try directory.fileSystem.open(directory.file("t-0/" + segment), create: false)
        defer { file.close() }
        let byte = try file.read(count: 1, at: position)
        try file.write([byte[0] ^ 0x10], at: position)
    }

    /// Reads every offset one by one and returns what each read served or the damage it hit.
    func readEveryOffset(_ log: PartitionLog) -> [Offset: Result<[Offset], LogError>] {
        var results: [Offset: Result<[Offset], LogError>] = [:]
        for offset in 0..<log.logEndOffset.rawValue {
            results[Offset(offset)] = Result { () throws(LogError) -> [Offset] in
                let bytes = try log.read(from: Offset(offset), maxBytes: 1 << 20)
                var splitter = RecordBatchSplitter(bytes, trailingBytes: .rejectPartialTrailingBatch)
                var served: [Offset] = []
                // Everything served must pass the checks a consumer makes.
                while let batch = try? splitter.next() { served.append(batch.baseOffset) }
                #expect(splitter.position == bytes.readableBytes, "read from \(offset) served bytes that fail validation")
                // One record a batch: a read serves the offsets from the one asked for, in order.
                #expect(served == Array(offset..<(offset + Int64(served.count))).map(Offset.init),
                        "read from \(offset) served offsets \(served)")
                return served
            }
        }
        return results
    }

    func expectDamage(_ result: Result<[Offset], LogError>?, at offset: Offset, position: Int64, reason: String) {
        guard case .failure(.corruptLog(let damage)) = result else {
            Issue.record("read from \(offset) should fail with corruption, got \(String(describing: result))")
            return
        }
        #expect(damage.offset == offset && damage.position == position && damage.segmentBaseOffset == 0)
        #expect(damage.path.hasSuffix("t-0/00000000000000000000.log"))
        #expect(damage.reason.contains(reason), "\(damage.reason)")
    }

    @Test func aFlippedRecordByteFailsTheCRCAndIsNeverServed() throws {
        let directory = try TestDirectory(RealFileSystem())
        let (log, size) = try makeLog(directory)
        // Batch 4 of the first (closed) segment, inside its records.
        try flipByte(directory, at: 4 * size + 70)
        let results = readEveryOffset(log)
        for offset in 0..<4 {
            #expect(try results[Offset(Int64(offset))]!.get() == Array(Int64(offset)..<4).map(Offset.init),
                    "a read before the damage serves the good batches up to it")
        }
        expectDamage(results[4], at: 4, position: 4 * size, reason: "crc")
        for offset in 5..<log.logEndOffset.rawValue {
            #expect(try results[Offset(offset)]!.get().first == Offset(offset), "offsets past the damage still serve")
        }
    }

    /// The CRC does not cover baseOffset: the offset chain does.
    @Test func aFlippedBaseOffsetByteIsCaughtByTheOffsetChain() throws {
        let directory = try TestDirectory(RealFileSystem())
        let (log, size) = try makeLog(directory)
        try flipByte(directory, at: 6 * size + 7)
        let results = readEveryOffset(log)
        #expect(try results[5]!.get() == [5], "the batch before the damage is served alone")
        expectDamage(results[6], at: 6, position: 6 * size, reason: "base offset")
    }

    @Test(arguments: [true, false])
    func reopeningKeepsADamagedClosedSegmentWholeAndStillRefusesIt(cleanly: Bool) throws {
        let directory = try TestDirectory(RealFileSystem())
        var (log, size) = try makeLog(directory)
        let end = log.logEndOffset
        let segments = log.segmentBaseOffsets
        // Batch 2, inside its header's CRC-covered fields: the recovery scan would cut here.
        try flipByte(directory, at: 2 * size + 30)
        if cleanly { try log.close(nowMs: 0) } else { log.closeUncleanly() }
        // An unclean reopen scans only the last segment; force a scan of this one too by
        // damaging its index, so it is rebuilt from the log.
        try directory.fileSystem.open(directory.file("t-0/00000000000000000000.index"), create: false).truncate(to: 3)
        log = try PartitionLog(fileSystem: directory.fileSystem, directory: directory.file("t-0"), config: log.config, nowMs: 0)
        #expect(log.logEndOffset == end && log.segmentBaseOffsets == segments, "a closed segment is never cut: \(log.openReport.reasons)")
        #expect(log.openReport.reasons.contains { $0.contains("kept") })
        let results = readEveryOffset(log)
        expectDamage(results[2], at: 2, position: 2 * size, reason: "crc")
        #expect(try results[Offset(segments[1].rawValue)]!.get().first == segments[1])
    }

    @Test func truncatingToTheDamageHealsTheLogFromALeaderCopy() throws {
        let directory = try TestDirectory(RealFileSystem())
        let (log, size) = try makeLog(directory)
        let leaderDirectory = try TestDirectory(RealFileSystem())
        let (leader, _) = try makeLog(leaderDirectory)
        // The magic byte: the damaged header cannot even be walked past, so the cut must come
        // from the position the read reported.
        try flipByte(directory, at: 3 * size + 16)
        guard case .failure(.corruptLog(let damage)) = Result(catching: { () throws(LogError) in try log.read(from: 3, maxBytes: 1 << 20) }) else {
            Issue.record("the damaged batch was served")
            return
        }
        #expect(damage.offset == 3)
        #expect(try log.truncate(toDamage: damage, nowMs: 0) == 3)
        #expect(log.logEndOffset == 3 && log.segmentCount == 1)
        while log.logEndOffset < leader.logEndOffset {
            let bytes = try leader.read(from: log.logEndOffset, maxBytes: 1 << 20)
            _ = try log.appendAsFollower(bytes, nowMs: 0)
        }
        #expect(try readAll(log, from: 0) == readAll(leader, from: 0))
        #expect(readEveryOffset(log).values.allSatisfy { if case .success = $0 { true } else { false } })
    }
}
