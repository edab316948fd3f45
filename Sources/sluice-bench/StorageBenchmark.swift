import Foundation
import NIOCore
import SluiceCore
import SluiceRecords
import SluiceStorage

/// Partition-log appends and reads against raw `pwrite`/`pread` of the same bytes on the same
/// disk, and the fsync amortisation of `flush = always` with concurrent appenders.
enum StorageBenchmark: BenchmarkSuite {
    static let name = "storage"
    static let summary = "log append/read vs raw write/read on the same disk; group-commit fsync rate"

    static let totalBytes = 256 << 20

    static func run(_ report: inout BenchmarkReport) async throws {
        let root = (ProcessInfo.processInfo.environment["SLUICE_BENCH_DIR"] ?? NSTemporaryDirectory()) + "/sluice-bench-\(getpid())"
        let fs = RealFileSystem()
        try fs.createDirectory(root)
        defer { try? fs.remove(root) }
        print("  data directory: \(root)")

        for batchBytes in [16 << 10, 1 << 20] {
            let batch = makeBatch(bytes: batchBytes)
            let count = totalBytes / batch.readableBytes
            let bytes = count * batch.readableBytes
            let raw = try rawWrite(path: root + "/raw-\(batchBytes)", chunk: batch, count: count)
            let log = try logAppend(fs: fs, directory: root + "/log-\(batchBytes)", batch: batch, count: count)
            report.add("append, \(batchBytes >> 10) KiB batches of 1 KiB records, flush none", mbps(bytes, log.write), "MB/s",
                       reference: ("raw pwrite", mbps(bytes, raw.write)))
            report.add("append + final fsync, \(batchBytes >> 10) KiB batches", mbps(bytes, log.write + log.sync), "MB/s",
                       reference: ("raw pwrite + fsync", mbps(bytes, raw.write + raw.sync)))
            let rawRead = try rawReadSeconds(path: root + "/raw-\(batchBytes)", chunk: 1 << 20)
            let logRead = try logReadSeconds(fs: fs, directory: root + "/log-\(batchBytes)")
            report.add("sequential read (1 MiB fetches, CRC checked), \(batchBytes >> 10) KiB batches", mbps(bytes, logRead), "MB/s",
                       reference: ("raw pread", mbps(bytes, rawRead)))
        }

        let rawFsync = try rawFsyncRate(path: root + "/fsync-probe")
        for appenders in [1, 8, 64] {
            let (appends, fsyncs) = try await groupCommit(fs: fs, directory: root + "/always-\(appenders)", appenders: appenders)
            report.add("flush=always, \(appenders) appenders: acknowledged appends", appends, "appends/s",
                       reference: ("raw write+fdatasync", rawFsync))
            report.add("flush=always, \(appenders) appenders: appends per fsync", appends / max(fsyncs, 1), "appends/fsync")
        }
    }

    static func mbps(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e6 }

    static func makeBatch(bytes: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        var i = 0
        repeat {
            builder.append(key: Array("key-\(i)".utf8), value: [UInt8](repeating: UInt8(i & 0xff), count: 1024),
                           timestamp: RecordTimestamp(1_700_000_000_000 + Int64(i)))
            i += 1
        } while builder.uncompressedRecordBytes + 1100 < bytes
        return try! builder.build().bytes
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func rawWrite(path: String, chunk: ByteBuffer, count: Int) throws -> (write: Double, sync: Double) {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var position = 0
        let write = seconds {
            chunk.withUnsafeReadableBytes { raw in
                for _ in 0..<count {
                    _ = pwrite(fd, raw.baseAddress!, raw.count, off_t(position))
                    position += raw.count
                }
            }
        }
        let sync = seconds { _ = fdatasync(fd) }
        return (write, sync)
    }

    static func logAppend(fs: RealFileSystem, directory: String, batch: ByteBuffer, count: Int) throws -> (write: Double, sync: Double) {
        let log = try PartitionLog(fileSystem: fs, directory: directory, config: LogConfig(), nowMs: 0)
        let write = try seconds {
            for _ in 0..<count { _ = try log.appendAsLeader(batch, leaderEpoch: 0, nowMs: 0) }
        }
        let sync = try seconds { try log.flush(nowMs: 0) }
        try log.close(nowMs: 0)
        return (write, sync)
    }

    static func rawReadSeconds(path: String, chunk: Int) throws -> Double {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        return seconds {
            var position = 0
            while true {
                let n = pread(fd, buffer.baseAddress!, chunk, off_t(position))
                if n <= 0 { break }
                position += n
            }
        }
    }

    static func logReadSeconds(fs: RealFileSystem, directory: String) throws -> Double {
        let log = try PartitionLog(fileSystem: fs, directory: directory, config: LogConfig(), nowMs: 0)
        defer { try? log.close(nowMs: 0) }
        return try seconds {
            var offset = Offset.zero
            while offset < log.logEndOffset {
                let bytes = try log.read(from: offset, maxBytes: 1 << 20)
                // The last batch's next offset: read the last batch header's fields.
                var splitter = RecordBatchSplitter(bytes, trailingBytes: .rejectPartialTrailingBatch, verifyCRC: false)
                var last: RecordBatch?
                while let batch = try splitter.next() { last = batch }
                offset = last!.nextOffset
            }
        }
    }

    static func rawFsyncRate(path: String) throws -> Double {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let block = [UInt8](repeating: 1, count: 1024)
        var n = 0
        let elapsed = seconds {
            let deadline = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < deadline {
                _ = pwrite(fd, block, block.count, off_t(n * 1024))
                _ = fdatasync(fd)
                n += 1
            }
        }
        return Double(n) / elapsed
    }

    static func groupCommit(fs: RealFileSystem, directory: String, appenders: Int) async throws -> (appendsPerSecond: Double, fsyncsPerSecond: Double) {
        var config = LogConfig()
        config.flush = .always
        let executor = IOThreadExecutor(name: "bench-log")
        let syncExecutor = IOThreadExecutor(name: "bench-sync")
        defer { executor.shutdown(); syncExecutor.shutdown() }
        let log = try PartitionLogActor(fileSystem: fs, directory: directory, config: config, executor: executor,
                                        syncExecutor: syncExecutor, now: { 0 })
        let batch = makeBatch(bytes: 1100)
        let duration = Duration.seconds(2)
        let start = ContinuousClock.now
        let appends = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<appenders {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now - start < duration {
                        _ = try await log.appendAsLeader(batch, leaderEpoch: 0)
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let fsyncs = await log.fsyncCount
        try await log.close()
        return (Double(appends) / secondsElapsed, Double(fsyncs) / secondsElapsed)
    }
}
