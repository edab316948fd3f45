import Foundation
import NIOCore
import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Testing

/// A full disk on a real file system (a 1 MiB tmpfs): the append that does not fit fails with
/// the OS's error, nothing stored before it is touched, no byte of it stays, and appends work
/// again once space is freed, without reopening the log.
@Suite(.serialized) struct FullDiskTests {
    static let mountNeeded: Comment = "mounting a tmpfs needs root (CAP_SYS_ADMIN)"

    func config() -> LogConfig {
        var config = LogConfig()
        config.segmentBytes = 128 * 1024
        config.indexIntervalBytes = 4096
        config.retentionMilliseconds = nil
        return config
    }

    func batch(_ tag: String) -> ByteBuffer { makeBatch(tag: tag, count: 4, valueBytes: 2000, timestamp: 0) }

    /// Bytes of every `.log` file in `directory`, as the file system has them.
    func logFileBytes(_ fs: RealFileSystem, _ directory: String) throws -> Int64 {
        try fs.listDirectory(directory).filter { $0.hasSuffix(".log") }.reduce(0) { total, name in
            let file = try fs.open(joinPath(directory, name), create: false)
            defer { file.close() }
            return total + (try file.size())
        }
    }

    @Test(.enabled(if: TmpfsMount.isPermitted, mountNeeded))
    func aFullDiskFailsTheAppendLeavesTheLogWholeAndRecoversWhenSpaceIsFreed() throws {
        let mount = try TmpfsMount(bytes: 1 << 20)
        let fs = RealFileSystem()
        // Space to give back later. In a scope of its own: a `RealFile` closes its descriptor
        // when released, and an open descriptor would keep the space after the unlink.
        do {
            let filler = try fs.open(joinPath(mount.path, "filler"), create: true)
            try filler.write([UInt8](repeating: 1, count: 128 * 1024), at: 0)
            filler.close()
        }
        let directory = joinPath(mount.path, "t-0")
        let log = try PartitionLog(fileSystem: fs, directory: directory, config: config(), nowMs: 0)
        var stored: [String] = []
        var failure: LogError?
        for i in 0..<200 {
            do {
                _ = try log.appendAsLeader(batch("f\(i)"), leaderEpoch: 1, nowMs: 0)
                stored.append("f\(i)")
            } catch {
                failure = error
                break
            }
        }
        guard case .storage(.io(_, _, let code))? = failure else {
            Issue.record("expected an I/O error once the disk was full, got \(String(describing: failure))")
            return
        }
        #expect(code == ENOSPC)
        #expect(log.segmentCount > 1, "the disk filled after a roll, so closed segments were there to damage")
        let end = log.logEndOffset
        #expect(end == Offset(Int64(stored.count * 4)))
        #expect(try readAll(log, from: 0).map(\.tag) == stored)
        #expect(try logFileBytes(fs, directory) == log.sizeInBytes, "no byte of the failed batch stayed in a file")

        #expect(throws: LogError.self) { try log.appendAsLeader(batch("still full"), leaderEpoch: 1, nowMs: 0) }
        #expect(log.logEndOffset == end)

        try fs.remove(joinPath(mount.path, "filler"))
        let after = try log.appendAsLeader(batch("after"), leaderEpoch: 1, nowMs: 0)
        #expect(after.firstOffset == end)
        #expect(try readAll(log, from: 0).map(\.tag) == stored + ["after"])

        // A crash now recovers the same log.
        log.closeUncleanly()
        let reopened = try PartitionLog(fileSystem: fs, directory: directory, config: config(), nowMs: 0)
        #expect(reopened.openReport.truncatedBytes == 0)
        #expect(try readAll(reopened, from: 0).map(\.tag) == stored + ["after"])
        reopened.closeUncleanly()
    }
}
