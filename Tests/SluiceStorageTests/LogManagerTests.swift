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

    private static let oldTopic = KafkaUUID(high: 0xAAAA, low: 1)
    private static let newTopic = KafkaUUID(high: 0xBBBB, low: 2)

    @Test func openRecordsTheTopicIDAndReopensItsOwnLog() async throws {
        let fs = SimulatedFileSystem()
        let partition = TopicPartition(try TopicName(validating: "t"), 0)
        do {
            let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
            let log = try await manager.open(partition, topicID: Self.oldTopic)
            _ = try await log.appendAsLeader(makeBatch(tag: "a", count: 3, valueBytes: 1, timestamp: 0), leaderEpoch: 0)
            await manager.closeAll()
        }
        let file = try fs.open("/data/topics/t-0/partition.metadata", create: false)
        #expect(String(decoding: try file.readAll(), as: UTF8.self) == "version: 0\ntopic_id: 000000000000aaaa0000000000000001\n")
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        let log = try await manager.open(partition, topicID: Self.oldTopic)
        #expect(await log.logEndOffset == 3)
        #expect(await manager.staleDirectories.isEmpty)
        await manager.closeAll()
    }

    @Test func aDirectoryWithoutTheFileAdoptsTheTopicID() async throws {
        let fs = SimulatedFileSystem()
        let partition = TopicPartition(try TopicName(validating: "legacy"), 2)
        do {
            let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
            let log = try await manager.open(partition)
            _ = try await log.appendAsLeader(makeBatch(tag: "a", count: 2, valueBytes: 1, timestamp: 0), leaderEpoch: 0)
            await manager.closeAll()
        }
        #expect(!fs.fileExists("/data/topics/legacy-2/partition.metadata"), "without an id nothing is written")
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        let log = try await manager.open(partition, topicID: Self.newTopic)
        #expect(await log.logEndOffset == 2, "the existing records are kept")
        #expect(try PartitionMetadataFile(fileSystem: fs, directory: "/data/topics/legacy-2").read() == Self.newTopic)
        await manager.closeAll()
    }

    /// The topic was deleted and re-created while this node was down: the directory on disk
    /// names the old id. Its records must never be served as the new topic's.
    @Test func aDirectoryOfAnOlderTopicOfTheSameNameIsMovedAsideAndTheLogStartsEmpty() async throws {
        let fs = SimulatedFileSystem()
        let topic = try TopicName(validating: "t")
        let partition = TopicPartition(topic, 0)
        do {
            let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
            let log = try await manager.open(partition, topicID: Self.oldTopic)
            _ = try await log.appendAsLeader(makeBatch(tag: "old", count: 5, valueBytes: 1, timestamp: 0), leaderEpoch: 3)
            await manager.closeAll()
        }
        let lines = Mutex<[String]>([])
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 },
                                 log: { line in lines.withLock { $0.append(line) } })
        let log = try await manager.open(partition, topicID: Self.newTopic)
        #expect(await log.logEndOffset == 0)
        #expect(await log.epochCache.entries.isEmpty)
        let stale = "/data/topics/t-0.000000000000aaaa0000000000000001-stale"
        #expect(await manager.staleDirectories == [stale])
        #expect(fs.fileExists(stale + "/00000000000000000000.log"), "the old records are kept aside, not deleted")
        #expect(try PartitionMetadataFile(fileSystem: fs, directory: stale).read() == Self.oldTopic)
        #expect(try PartitionMetadataFile(fileSystem: fs, directory: "/data/topics/t-0").read() == Self.newTopic)
        #expect(try await manager.partitionsOnDisk() == [partition], "the stale directory is not a partition")
        #expect(lines.withLock { $0 }.contains { $0.contains("moved it to \(stale)") })
        await manager.closeAll()

        // Opening under the new id again keeps the new log.
        let again = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        _ = try await again.open(partition, topicID: Self.newTopic)
        #expect(await again.staleDirectories.isEmpty)
        await again.closeAll()
    }

    @Test func aTopicReCreatedWhileItsLogIsOpenGetsAFreshLog() async throws {
        let fs = SimulatedFileSystem()
        let partition = TopicPartition(try TopicName(validating: "t"), 1)
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        let old = try await manager.open(partition, topicID: Self.oldTopic)
        _ = try await old.appendAsLeader(makeBatch(tag: "old", count: 4, valueBytes: 1, timestamp: 0), leaderEpoch: 0)
        #expect(try await manager.open(partition, topicID: Self.oldTopic) === old)
        let fresh = try await manager.open(partition, topicID: Self.newTopic)
        #expect(fresh !== old)
        #expect(await fresh.logEndOffset == 0)
        #expect(await manager.staleDirectories.count == 1)
        await #expect(throws: LogError.closed(path: "/data/topics/t-1")) { try await old.read(from: 0, maxBytes: 1) }
        await manager.closeAll()
    }

    @Test func aDamagedPartitionMetadataFileFailsTheOpen() async throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/data/topics/t-0")
        let file = try fs.open("/data/topics/t-0/partition.metadata", create: true)
        try file.write(Array("version: 0\ntopic_id: nonsense\n".utf8), at: 0)
        let manager = LogManager(fileSystem: fs, dataDirectory: "/data", defaultConfig: config(), ioThreads: 1, now: { 0 })
        await #expect(throws: LogError.self) {
            _ = try await manager.open(TopicPartition(try TopicName(validating: "t"), 0), topicID: Self.newTopic)
        }
        #expect(await manager.staleDirectories.isEmpty)
        await manager.closeAll()
    }
}
