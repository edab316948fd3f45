import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

@Suite struct GroupCommitTests {
    static let executor = IOThreadExecutor(name: "test-log")
    static let syncExecutor = IOThreadExecutor(name: "test-sync")

    /// 64 concurrent producers append with `flush = always`; then the power fails. Every
    /// append that returned must still be there, and the appends shared fsyncs.
    @Test(arguments: FileSystemKind.allCases)
    func acknowledgedAppendsSurviveACrashAndShareFsyncs(kind: FileSystemKind) async throws {
        let dir = try TestDirectory(kind.make())
        var config = LogConfig()
        config.flush = .always
        config.segmentBytes = 64 * 1024
        let log = try PartitionLogActor(fileSystem: dir.fileSystem, directory: dir.file("p"), config: config,
                                        executor: Self.executor, syncExecutor: Self.syncExecutor, now: { 0 })
        let producers = 64
        let appendsEach = 10
        let acknowledged = try await withThrowingTaskGroup(of: [Offset].self) { group in
            for p in 0..<producers {
                group.addTask {
                    var offsets: [Offset] = []
                    for i in 0..<appendsEach {
                        let batch = makeBatch(tag: "p\(p)-\(i)", count: 1, valueBytes: 100, timestamp: 0)
                        offsets.append(try await log.appendAsLeader(batch, leaderEpoch: 0).firstOffset)
                    }
                    return offsets
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(acknowledged).count == producers * appendsEach)
        let fsyncs = await log.fsyncCount
        #expect(fsyncs >= 1 && fsyncs <= producers * appendsEach)
        if let fs = dir.fileSystem as? SimulatedFileSystem {
            var random = SplitMix64(seed: 5)
            fs.crash(using: &random)
            let reopened = try PartitionLog(fileSystem: fs, directory: dir.file("p"), config: config, nowMs: 0)
            #expect(reopened.logEndOffset.rawValue == Int64(producers * appendsEach),
                    "an acknowledged append was lost in the crash")
        } else {
            // On a real disk fsync takes long enough that producers pile up behind it.
            #expect(fsyncs < producers * appendsEach, "\(fsyncs) fsyncs for \(producers * appendsEach) appends: no group commit")
        }
    }

    @Test func withoutAlwaysNothingWaitsForFsync() async throws {
        let log = try PartitionLogActor(fileSystem: SimulatedFileSystem(), directory: "/p", config: LogConfig(),
                                        executor: Self.executor, syncExecutor: Self.syncExecutor, now: { 0 })
        _ = try await log.appendAsLeader(makeBatch(tag: "x", count: 1, valueBytes: 1, timestamp: 0), leaderEpoch: 0)
        #expect(await log.fsyncCount == 0)
        #expect(await log.logEndOffset == 1)
    }
}
