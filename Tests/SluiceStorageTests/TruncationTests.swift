import Dispatch
import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Synchronization
import Testing

private func config(segmentBytes: Int = 2048) -> LogConfig {
    var config = LogConfig()
    config.segmentBytes = segmentBytes
    config.indexIntervalBytes = 256
    config.retentionMilliseconds = nil
    return config
}

/// A log of `count` one-record batches of 500 bytes (several segments), epochs 1 then 2, all
/// synced, with the high watermark at the log end.
private func filledLog(_ fs: any FileSystem, _ path: String, count: Int = 12) throws -> PartitionLog {
    let log = try PartitionLog(fileSystem: fs, directory: path, config: config(), nowMs: 0)
    for i in 0..<count {
        let epoch: LeaderEpoch = i < count / 2 ? 1 : 2
        _ = try log.appendAsLeader(makeBatch(tag: "o\(i)", count: 1, valueBytes: 500, timestamp: 0), leaderEpoch: epoch, nowMs: 0)
    }
    try log.updateHighWatermark(log.logEndOffset)
    try log.flush(nowMs: 0)
    try log.checkpoint()
    return log
}

/// Forwards to a `SimulatedFileSystem`; once armed with `dieAfter(_:)`, fails every
/// directory-level call (open, remove, rename, create, sync) after that many: the process
/// dies at that step.
private final class DyingFileSystem: FileSystem {
    let inner: SimulatedFileSystem
    private let budget = Mutex(Int.max)

    init(_ inner: SimulatedFileSystem) { self.inner = inner }

    func dieAfter(_ steps: Int) { budget.withLock { $0 = steps } }

    private func step(_ path: String) throws(StorageError) {
        let alive = budget.withLock { remaining -> Bool in
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
        if !alive { throw .io(operation: "died", path: path, errno: 5) }
    }

    func createDirectory(_ path: String) throws(StorageError) { try step(path); try inner.createDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try inner.listDirectory(path) }
    func fileExists(_ path: String) -> Bool { inner.fileExists(path) }
    func open(_ path: String, create: Bool) throws(StorageError) -> any StorageFile {
        try step(path)
        return try inner.open(path, create: create)
    }
    func remove(_ path: String) throws(StorageError) { try step(path); try inner.remove(path) }
    func rename(_ from: String, to: String) throws(StorageError) { try step(from); try inner.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { try step(path); try inner.syncDirectory(path) }
}

@Suite struct TruncationTests {
    @Test func truncatingBelowTheLogStartEmptiesTheLogAndStartsThere() throws {
        let fs = SimulatedFileSystem()
        let log = try filledLog(fs, "/t-0")
        try log.advanceLogStart(to: 8)
        let firstBase = log.segmentBaseOffsets.first!
        #expect(firstBase > 0 && firstBase < 7, "three batches a segment: the segment holding 8 starts at 6")
        #expect(try log.truncate(to: 7, nowMs: 0) == 7, "7 lies inside the first segment but below the log start")
        #expect(log.logStartOffset == 7 && log.logEndOffset == 7 && log.highWatermark == 7)
        #expect(log.segmentBaseOffsets == [7])
        #expect(log.epochCache.entries.isEmpty)
        #expect(throws: LogError.offsetOutOfRange(requested: 6, logStartOffset: 7, logEndOffset: 7)) {
            try log.read(from: 6, maxBytes: 100)
        }
        let appended = try log.appendAsLeader(makeBatch(tag: "n", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 3, nowMs: 0)
        #expect(appended.firstOffset == 7)
        #expect(try readAll(log, from: 7).map(\.tag) == ["n"])
        #expect(try log.truncate(to: 2, nowMs: 0) == 2, "below the first segment too")
        #expect(log.logStartOffset == 2 && log.logEndOffset == 2 && log.segmentBaseOffsets == [2])
    }

    @Test func truncatingInsideTheBatchHoldingTheLogStartEmptiesTheLogAtThatBatch() throws {
        let log = try PartitionLog(fileSystem: SimulatedFileSystem(), directory: "/t-0", config: config(), nowMs: 0)
        _ = try log.appendAsLeader(makeBatch(tag: "a", count: 10, valueBytes: 10, timestamp: 0), leaderEpoch: 1, nowMs: 0)
        try log.updateHighWatermark(10)
        try log.advanceLogStart(to: 5)
        #expect(try log.truncate(to: 7, nowMs: 0) == 0, "the batch 0...9 goes whole")
        #expect(log.logStartOffset == 0 && log.logEndOffset == 0, "log start never passes log end")
        #expect(log.epochCache.entries.isEmpty)
    }

    @Test(arguments: FileSystemKind.allCases)
    func truncateFullyAndStartPastTheLogEndLeavesOnlyAnEmptySegmentThere(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let fs = dir.fileSystem
        let path = dir.file("t-0")
        let log = try filledLog(fs, path)
        #expect(log.segmentCount > 1)
        try log.truncateFullyAndStart(at: 100, nowMs: 0)
        #expect(log.logStartOffset == 100 && log.logEndOffset == 100 && log.highWatermark == 100)
        #expect(log.segmentBaseOffsets == [100] && log.sizeInBytes == 0)
        #expect(log.epochCache.entries.isEmpty)
        let files = try fs.listDirectory(path).filter { $0.hasSuffix(".log") || $0.hasSuffix("index") }
        #expect(files.sorted() == ["00000000000000000100.index", "00000000000000000100.log", "00000000000000000100.timeindex"])
        #expect(try log.read(from: 100, maxBytes: 100).readableBytes == 0)
        #expect(throws: LogError.self) { try log.read(from: 0, maxBytes: 100) }
        let appended = try log.appendAsLeader(makeBatch(tag: "n", count: 2, valueBytes: 1, timestamp: 0), leaderEpoch: 7, nowMs: 0)
        #expect(appended.firstOffset == 100 && appended.lastOffset == 101)
        #expect(log.epochCache.entries == [.init(epoch: 7, startOffset: 100)])
        try log.close(nowMs: 0)
        let reopened = try PartitionLog(fileSystem: fs, directory: path, config: config(), nowMs: 0)
        #expect(reopened.logStartOffset == 100 && reopened.logEndOffset == 102)
        #expect(try readAll(reopened, from: 100).map(\.tag) == ["n"])
        try reopened.close(nowMs: 0)
    }

    @Test(arguments: 0..<8 as Range<UInt64>)
    func aCrashAfterTruncateFullyAndStartReopensEmptyAtTheNewStart(seed: UInt64) throws {
        let fs = SimulatedFileSystem()
        do {
            let log = try filledLog(fs, "/t-0")
            _ = try log.appendAsLeader(makeBatch(tag: "unsynced", count: 1, valueBytes: 10, timestamp: 0), leaderEpoch: 2, nowMs: 0)
            try log.truncateFullyAndStart(at: 100, nowMs: 0)
            log.closeUncleanly()
        }
        var random = SplitMix64(seed: seed)
        fs.crash(using: &random)
        let reopened = try PartitionLog(fileSystem: fs, directory: "/t-0", config: config(), nowMs: 0)
        #expect(reopened.logStartOffset == 100 && reopened.logEndOffset == 100 && reopened.highWatermark == 100)
        #expect(reopened.epochCache.entries.isEmpty)
        #expect(reopened.segmentBaseOffsets == [100])
        let appended = try reopened.appendAsLeader(makeBatch(tag: "n", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 3, nowMs: 0)
        #expect(appended.firstOffset == 100)
        try reopened.close(nowMs: 0)
    }

    /// The process dies at every file-system step of `truncateFullyAndStart` (then the power
    /// fails too): the reopened log is the old one, whole, or the new empty one, never a mix.
    @Test func dyingAtEveryStepOfTruncateFullyAndStartLeavesTheOldLogOrTheNewOne() throws {
        var outcomes: [String] = []
        for step in 0..<100 {
            let sim = SimulatedFileSystem()
            let dying = DyingFileSystem(sim)
            let log = try filledLog(dying, "/t-0")
            let oldTags = try readAll(log, from: 0).map(\.tag)
            dying.dieAfter(step)
            var finished = false
            do {
                try log.truncateFullyAndStart(at: 100, nowMs: 0)
                finished = true
            } catch {
                #expect(throws: LogError.closed(path: "/t-0"), "a half-done restart closes the log") {
                    try log.read(from: 0, maxBytes: 1)
                }
            }
            var random = SplitMix64(seed: UInt64(step))
            sim.crash(using: &random)
            let reopened = try PartitionLog(fileSystem: sim, directory: "/t-0", config: config(), nowMs: 0)
            let tags = try readAll(reopened, from: reopened.logStartOffset).map(\.tag)
            if reopened.logStartOffset == 100 {
                #expect(tags.isEmpty && reopened.logEndOffset == 100, "step \(step): \(tags)")
                #expect(reopened.epochCache.entries.isEmpty, "step \(step)")
                outcomes.append("new")
            } else {
                #expect(!finished, "step \(step): a finished restart must survive the crash")
                #expect(reopened.logStartOffset == 0 && tags == oldTags, "step \(step): start \(reopened.logStartOffset), \(tags)")
                #expect(reopened.epochCache.entries.map(\.epoch) == [1, 2], "step \(step)")
                outcomes.append("old")
            }
            if finished { break }
        }
        #expect(outcomes.first == "old" && outcomes.last == "new", "the steps cover both outcomes: \(outcomes)")
        #expect(outcomes.count > 4 && outcomes.count < 100, "truncateFullyAndStart finished within the steps tried")
    }

    @Test func beginLeaderEpochRecordsTheEpochAtTheLogEndDurably() throws {
        let fs = SimulatedFileSystem()
        do {
            let log = try PartitionLog(fileSystem: fs, directory: "/t-0", config: config(), nowMs: 0)
            try log.beginLeaderEpoch(.unknown)
            #expect(log.epochCache.entries.isEmpty, "-1 is no leader's epoch")
            _ = try log.appendAsLeader(makeBatch(tag: "a", count: 3, valueBytes: 1, timestamp: 0), leaderEpoch: 1, nowMs: 0)
            try log.flush(nowMs: 0)
            try log.beginLeaderEpoch(4)
            #expect(log.epochCache.entries == [.init(epoch: 1, startOffset: 0), .init(epoch: 4, startOffset: 3)])
            #expect(log.epochCache.endOffset(for: 4, logEndOffset: log.logEndOffset)! == (4, 3),
                    "a follower asking for epoch 4 learns it before any append")
            #expect(log.epochCache.endOffset(for: 1, logEndOffset: log.logEndOffset)! == (1, 3))
            try log.beginLeaderEpoch(4)
            try log.beginLeaderEpoch(2)
            #expect(log.epochCache.entries.map(\.epoch) == [1, 4], "an epoch not above the latest is a no-op")
            log.closeUncleanly()
        }
        var random = SplitMix64(seed: 3)
        fs.crash(using: &random)
        let reopened = try PartitionLog(fileSystem: fs, directory: "/t-0", config: config(), nowMs: 0)
        #expect(reopened.epochCache.entries == [.init(epoch: 1, startOffset: 0), .init(epoch: 4, startOffset: 3)],
                "the epoch begun at the log end survives a crash")
        _ = try reopened.appendAsLeader(makeBatch(tag: "b", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 4, nowMs: 0)
        #expect(reopened.epochCache.entries.map(\.epoch) == [1, 4])
        try reopened.beginLeaderEpoch(5)
        try reopened.beginLeaderEpoch(6)
        #expect(reopened.epochCache.entries == [.init(epoch: 1, startOffset: 0), .init(epoch: 4, startOffset: 3), .init(epoch: 6, startOffset: 4)],
                "epoch 5 wrote nothing, so epoch 6 replaces it")
    }
}

/// A `SimulatedFileSystem` whose next `held` `.log` fsyncs block until `gate` is signalled, so
/// a test can act while a group-commit fsync is under way. Only that many: the log's own
/// fsyncs (a truncation's) must not block its thread too.
private final class HeldSyncFileSystem: FileSystem {
    let inner = SimulatedFileSystem()
    let held = Mutex(0)
    let entered = Mutex(0)
    let gate = DispatchSemaphore(value: 0)

    final class File: StorageFile {
        let inner: any StorageFile
        let owner: HeldSyncFileSystem
        init(_ inner: any StorageFile, _ owner: HeldSyncFileSystem) {
            self.inner = inner
            self.owner = owner
        }
        var path: String { inner.path }
        func size() throws(StorageError) -> Int64 { try inner.size() }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) { try inner.write(bytes, at: offset) }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
            try inner.read(into: buffer, at: offset)
        }
        func sync() throws(StorageError) {
            let hold = path.hasSuffix(".log") && owner.held.withLock { remaining -> Bool in
                guard remaining > 0 else { return false }
                remaining -= 1
                return true
            }
            if hold {
                owner.entered.withLock { $0 += 1 }
                owner.gate.wait()
            }
            try inner.sync()
        }
        func truncate(to size: Int64) throws(StorageError) { try inner.truncate(to: size) }
        func close() { inner.close() }
    }

    func createDirectory(_ path: String) throws(StorageError) { try inner.createDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try inner.listDirectory(path) }
    func fileExists(_ path: String) -> Bool { inner.fileExists(path) }
    func open(_ path: String, create: Bool) throws(StorageError) -> any StorageFile {
        File(try inner.open(path, create: create), self)
    }
    func remove(_ path: String) throws(StorageError) { try inner.remove(path) }
    func rename(_ from: String, to: String) throws(StorageError) { try inner.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { try inner.syncDirectory(path) }
}

@Suite struct PartitionLogActorTruncationTests {
    static let executor = IOThreadExecutor(name: "test-truncate-log")
    static let syncExecutor = IOThreadExecutor(name: "test-truncate-sync")

    /// With `flush = always`, appends that rewrite offsets cut away by a truncation must be
    /// fsynced again: an fsync of the old bytes says nothing about the new ones.
    @Test func appendsAfterTruncationAreFsyncedAgainAndSurviveACrash() async throws {
        let fs = SimulatedFileSystem()
        var always = config(segmentBytes: 1 << 20)
        always.flush = .always
        let log = try PartitionLogActor(fileSystem: fs, directory: "/p", config: always,
                                        executor: Self.executor, syncExecutor: Self.syncExecutor, now: { 0 })
        for i in 0..<5 { _ = try await log.appendAsLeader(makeBatch(tag: "a\(i)", count: 2, valueBytes: 10, timestamp: 0), leaderEpoch: 1) }
        #expect(try await log.truncate(to: 2) == 2)
        let before = await log.fsyncCount
        _ = try await log.appendAsLeader(makeBatch(tag: "b", count: 2, valueBytes: 10, timestamp: 0), leaderEpoch: 2)
        #expect(await log.fsyncCount == before + 1, "the rewritten offsets 2...3 were fsynced")

        try await log.truncateFullyAndStart(at: 50)
        #expect(await log.logStartOffset == 50)
        #expect(await log.logEndOffset == 50)
        #expect(await log.epochCache.entries.isEmpty)
        _ = try await log.appendAsLeader(makeBatch(tag: "c", count: 1, valueBytes: 10, timestamp: 0), leaderEpoch: 3)
        try await log.beginLeaderEpoch(4)
        #expect(await log.epochCache.entries == [.init(epoch: 3, startOffset: 50), .init(epoch: 4, startOffset: 51)])

        var random = SplitMix64(seed: 11)
        fs.crash(using: &random)
        let reopened = try PartitionLog(fileSystem: fs, directory: "/p", config: always, nowMs: 0)
        #expect(reopened.logStartOffset == 50 && reopened.logEndOffset == 51)
        #expect(try readAll(reopened, from: 50).map(\.tag) == ["c"])
        #expect(reopened.epochCache.entries.map(\.epoch) == [3, 4])
    }

    /// A leader's `flush = always` append waits for its fsync; meanwhile the replica becomes a
    /// follower and truncates the append away. The append must fail, not be acknowledged.
    @Test(.timeLimit(.minutes(1)))
    func anAppendTruncatedAwayWhileItsFsyncRunsFails() async throws {
        let fs = HeldSyncFileSystem()
        defer { fs.gate.signal() }  // never leave the sync thread blocked, whatever fails
        var always = config(segmentBytes: 1 << 20)
        always.flush = .always
        // Threads of its own: the held fsync blocks its sync thread.
        let executor = IOThreadExecutor(name: "test-held-log")
        let syncExecutor = IOThreadExecutor(name: "test-held-sync")
        defer {
            executor.shutdown()
            syncExecutor.shutdown()
        }
        let log = try PartitionLogActor(fileSystem: fs, directory: "/p", config: always,
                                        executor: executor, syncExecutor: syncExecutor, now: { 0 })
        _ = try await log.appendAsLeader(makeBatch(tag: "kept", count: 2, valueBytes: 10, timestamp: 0), leaderEpoch: 1)
        fs.held.withLock { $0 = 1 }
        let append = Task { try await log.appendAsLeader(makeBatch(tag: "cut", count: 3, valueBytes: 10, timestamp: 0), leaderEpoch: 1) }
        for _ in 0..<500 where fs.entered.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(fs.entered.withLock { $0 } == 1, "the append's fsync is under way")
        // The truncation runs on the log actor while the append waits; it then waits itself
        // for the committer, behind the held fsync.
        let truncation = Task { try await log.truncate(to: 2) }
        for _ in 0..<500 where await log.logEndOffset != 2 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(await log.logEndOffset == 2)
        fs.gate.signal()
        #expect(try await truncation.value == 2)
        await #expect(throws: LogError.self, "records that were truncated away are not acknowledged") {
            _ = try await append.value
        }
        let next = try await log.appendAsLeader(makeBatch(tag: "next", count: 1, valueBytes: 10, timestamp: 0), leaderEpoch: 2)
        #expect(next.firstOffset == 2)
    }
}
