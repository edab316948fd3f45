import SluiceCore
import SluiceRecords
@testable import SluiceStorage
import Synchronization
import Testing

@Suite struct LogManagerTests {
    private func config(retentionBytes: Int64? = nil) -> LogConfig {
        var c = LogConfig()
        c.segmentBytes = 2048
        c.retentionMilliseconds = nil
        c.retentionBytes = retentionBytes
        return c
    }

    @Test func maintenanceAppliesRetentionAndTopicOverrides() async throws {
        let fs = SimulatedFileSystem()
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 2, now: { 0 })
        let orders = try TopicName(validating: "orders")
        let p0 = TopicPartition(orders, 0)
        let p1 = TopicPartition(orders, 1)
        for partition in [p0, p1] {
            let log = try await manager.open(partition)
            for i in 0..<20 { _ = try await log.appendAsLeader(makeBatch(tag: "m\(i)", count: 1, valueBytes: 500, timestamp: 0), leaderEpoch: 0) }
            try await log.updateHighWatermark(await log.logEndOffset)
        }
        #expect(await manager.maintain() == 0, "no retention limit by default")
        await manager.setConfig(config(retentionBytes: 4096), for: orders)
        #expect(await manager.maintain() > 0, "the topic override applies to open logs")
        let start = try await manager.log(for: p0).logStartOffset
        #expect(start > 0)
        #expect(fs.fileExists("/data/topics/orders-0/partition.state"), "maintenance checkpoints")
        #expect(try await manager.partitionsOnDisk() == [p0, p1])
        await manager.closeAll()
    }

    @Test func openReportsWhatRecoveryCut() async throws {
        let fs = SimulatedFileSystem()
        let lines = Mutex<[String]>([])
        let topic = try TopicName(validating: "t")
        do {
            let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
            let log = try await manager.open(TopicPartition(topic, 0))
            _ = try await log.appendAsLeader(makeBatch(tag: "a", count: 2, valueBytes: 100, timestamp: 0), leaderEpoch: 0)
        }
        // The power fails mid-append of the last batch: keep its first half.
        let file = try fs.open("/data/topics/t-0/00000000000000000000.log", create: false)
        let size = try file.size()
        try file.truncate(to: size - 40)
        try file.sync()
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 },
                                 log: { line in lines.withLock { $0.append(line) } })
        let log = try await manager.open(TopicPartition(topic, 0))
        #expect(await log.logEndOffset == 0)
        let logged = lines.withLock { $0 }
        #expect(logged.count == 1 && logged[0].contains("cut \(size - 40) bytes"), "\(logged)")
        await manager.closeAll()
    }

    @Test func deleteRemovesThePartitionDirectory() async throws {
        let fs = SimulatedFileSystem()
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        let partition = TopicPartition(try TopicName(validating: "gone"), 3)
        _ = try await manager.open(partition)
        #expect(fs.fileExists("/data/topics/gone-3"))
        try await manager.delete(partition)
        #expect(!fs.fileExists("/data/topics/gone-3"))
        #expect(await manager.openPartitions.isEmpty)
        await manager.closeAll()
    }
}
