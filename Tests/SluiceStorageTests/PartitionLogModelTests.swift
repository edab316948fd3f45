import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

/// Random operation sequences against a simple in-memory model of the log: after every step
/// the log's offsets and contents must equal the model's. Crashes are the one place the model
/// is told what the log kept, after checking that nothing synced was lost. Truncation goes
/// below the log start too, and the log is restarted elsewhere (`truncateFullyAndStart`).
/// The model keeps its own segments (rolled by size and by `roll`), so retention's new log
/// start is computed from them, not read back from the log.
@Suite struct PartitionLogModelTests {
    struct Model {
        var batches: [ModelBatch] = []
        /// Bytes on disk of each batch, by base offset.
        var batchBytes: [Offset: Int64] = [:]
        /// Base offsets of the segments, oldest first; never empty.
        var segmentBases: [Offset] = [0]
        var logStartOffset: Offset = 0
        var logEndOffset: Offset { batches.last?.nextOffset ?? logStartOffset }
        var visible: [ModelBatch] { batches.filter { $0.lastOffset >= logStartOffset } }

        func segmentBytes(_ i: Int) -> Int64 {
            let end = i + 1 < segmentBases.count ? segmentBases[i + 1] : Offset(Int64.max)
            return batches.filter { $0.baseOffset >= segmentBases[i] && $0.baseOffset < end }
                .reduce(0) { $0 + batchBytes[$1.baseOffset, default: 0] }
        }

        var bytes: Int64 { segmentBases.indices.reduce(0) { $0 + segmentBytes($1) } }

        /// `PartitionLog.rollIfNeeded`: a non-empty active segment rolls when the batch would
        /// take it past `segmentBytesMax`.
        mutating func append(_ batch: ModelBatch, bytes: Int64, segmentBytesMax: Int) {
            let active = segmentBytes(segmentBases.count - 1)
            if active > 0 && active + bytes > Int64(segmentBytesMax) { segmentBases.append(logEndOffset) }
            batches.append(batch)
            batchBytes[batch.baseOffset] = bytes
        }

        mutating func roll() {
            if segmentBytes(segmentBases.count - 1) > 0 { segmentBases.append(logEndOffset) }
        }

        /// Drops whole segments from the end whose base is at or past `offset` (the first stays):
        /// truncation, and opening the log, which removes an empty segment at the end.
        mutating func dropSegments(from offset: Offset) {
            while segmentBases.count > 1, segmentBases.last! >= offset { segmentBases.removeLast() }
        }

        mutating func restart(at offset: Offset) {
            batches = []
            batchBytes = [:]
            segmentBases = [offset]
            logStartOffset = offset
        }

        /// Size retention with the high watermark at the log end: delete the oldest segment
        /// while what remains still holds at least `retentionBytes`. Returns how many went.
        mutating func applyRetention(retentionBytes: Int64) -> Int {
            var deleted = 0
            var size = bytes
            while segmentBases.count > 1, segmentBases[1] <= logEndOffset, size - segmentBytes(0) >= retentionBytes {
                size -= segmentBytes(0)
                segmentBases.removeFirst()
                logStartOffset = max(logStartOffset, segmentBases[0])
                batches.removeAll { $0.nextOffset <= segmentBases[0] }
                deleted += 1
            }
            return deleted
        }
    }

    @Test(arguments: 0..<60 as Range<UInt64>)
    func randomOperationsMatchTheModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let fs = SimulatedFileSystem()
        var config = LogConfig()
        config.segmentBytes = 1024 * Int(1 + random.next(below: 8))
        config.indexIntervalBytes = 64 * Int(1 + random.next(below: 16))
        config.retentionMilliseconds = nil
        config.retentionBytes = Int64(4096 * (1 + random.next(below: 4)))
        var log = try PartitionLog(fileSystem: fs, directory: "/p", config: config, nowMs: 0)
        var model = Model()
        var epoch: LeaderEpoch = 0
        var tagCounter = 0
        var trace: [String] = []

        for step in 0..<150 {
            let op = random.next(below: 100)
            switch op {
            case 0..<45:
                let count = Int(random.next(below: 6)) + 1
                let ts = Int64(random.next(below: 1000))
                tagCounter += 1
                let tag = "s\(tagCounter)"
                let bytes = makeBatch(tag: tag, count: count, valueBytes: Int(random.next(below: 300)), timestamp: ts)
                let r = try log.appendAsLeader(bytes, leaderEpoch: epoch, nowMs: 0)
                #expect(r.firstOffset == model.logEndOffset)
                model.append(ModelBatch(baseOffset: model.logEndOffset, recordCount: count, maxTimestamp: ts + Int64(count - 1), tag: tag),
                             bytes: Int64(bytes.readableBytes), segmentBytesMax: config.segmentBytes)
                trace.append("append \(tag) x\(count)")
            case 45..<55:
                guard model.logEndOffset > model.logStartOffset else { continue }
                let target = Offset(Int64(random.next(below: UInt64(model.logEndOffset.rawValue - model.logStartOffset.rawValue + 1))) + model.logStartOffset.rawValue)
                let newEnd = try log.truncate(to: target, nowMs: 0)
                let startBefore = model.logStartOffset
                if target < model.logEndOffset { model.dropSegments(from: target) }  // at the end: a no-op
                model.batches.removeAll { $0.lastOffset >= target }
                if model.batches.isEmpty || model.logEndOffset < model.logStartOffset { model.logStartOffset = min(model.logStartOffset, newEnd) }
                if newEnd < startBefore { model.restart(at: newEnd) }
                #expect(newEnd == model.logEndOffset, "seed \(seed) step \(step): truncate to \(target)")
                epoch = epoch.next
                trace.append("truncate \(target) -> \(newEnd)")
            case 55..<62:
                try log.roll(nowMs: 0)
                model.roll()
                trace.append("roll")
            case 62..<72:
                try log.updateHighWatermark(log.logEndOffset)
                let deleted = try log.applyRetention(nowMs: 0)
                let expected = model.applyRetention(retentionBytes: config.retentionBytes!)
                #expect(deleted == expected, "seed \(seed) step \(step): retention deleted \(deleted) segments, the model \(expected)")
                trace.append("retention deleted \(deleted), start \(log.logStartOffset)")
            case 72..<78:
                try log.close(nowMs: 0)
                log = try PartitionLog(fileSystem: fs, directory: "/p", config: config, nowMs: 0)
                #expect(log.openReport.wasCleanShutdown)
                model.dropSegments(from: model.logEndOffset)
                trace.append("clean restart")
            case 78..<86:
                let flushed = log.flushedOffset
                fs.crash(using: &random)
                log = try PartitionLog(fileSystem: fs, directory: "/p", config: config, nowMs: 0)
                let end = log.logEndOffset
                #expect(end >= min(flushed, model.logEndOffset), "seed \(seed) step \(step): crash lost synced offsets below \(flushed), log ends at \(end)")
                model.batches.removeAll { $0.lastOffset >= end }
                model.dropSegments(from: end)
                trace.append("crash (flushed \(flushed)) -> end \(end), start \(log.logStartOffset)")
                model.logStartOffset = log.logStartOffset
            case 86..<90:
                try log.flush(nowMs: 0)
                trace.append("flush")
            case 90..<93:
                // A follower restarting its log where the leader's starts: past the end, or
                // anywhere below it (truncating below the log start does the same).
                let target = Offset(Int64(random.next(below: UInt64(model.logEndOffset.rawValue + 40))))
                if random.next(below: 2) == 0 || target >= model.logStartOffset {
                    try log.truncateFullyAndStart(at: target, nowMs: 0)
                    trace.append("truncate fully at \(target)")
                } else {
                    #expect(try log.truncate(to: target, nowMs: 0) == target)
                    trace.append("truncate below start to \(target)")
                }
                model.restart(at: target)
                #expect(log.highWatermark == target && log.epochCache.entries.isEmpty, "seed \(seed) step \(step)")
            default:
                let t = Int64(random.next(below: 1100))
                let expected = expectedTimestampLookup(model.visible, atLeast: t, from: model.logStartOffset)
                let found = try log.offset(forTimestamp: t)
                #expect(found?.offset == expected?.offset && found?.timestamp == expected?.timestamp,
                        "seed \(seed) step \(step): timestamp \(t)")
                trace.append("lookup \(t)")
            }
            if log.logEndOffset != model.logEndOffset {
                let recent = trace.suffix(12).joined(separator: "\n")
                Issue.record("seed \(seed) step \(step): log ends at \(log.logEndOffset), model at \(model.logEndOffset); trace:\n\(recent)")
                return
            }
            #expect(log.logStartOffset == model.logStartOffset, "seed \(seed) step \(step) after \(trace.suffix(5))")
            if log.segmentBaseOffsets != model.segmentBases {
                Issue.record("seed \(seed) step \(step): segments \(log.segmentBaseOffsets), the model's \(model.segmentBases); trace \(trace.suffix(8))")
                return
            }
            if step % 10 == 0 || step == 149 {
                let contents = try readAll(log, from: log.logStartOffset, maxBytes: Int(random.next(below: 4000)) + 1)
                #expect(contents == model.visible, "seed \(seed) step \(step) after \(trace.suffix(5))")
            }
        }
    }
}
