import SluiceCore
import Synchronization

/// Every partition log of a node: where they live on disk, which I/O thread runs each, and the
/// background maintenance (retention, interval flushes, checkpoints) that keeps them bounded.
///
/// ```
/// <dataDirectory>/topics/<topic>-<partition>/     one PartitionLog each, and its
///                                                partition.metadata (PartitionMetadataFile)
/// <dataDirectory>/topics/<topic>-<partition>.<topic id>-stale/
///                                                an older topic's log of the same name, moved aside
/// ```
/// Logs are spread over `ioThreads` dedicated threads by a hash of the partition, so blocking
/// file calls of different partitions run in parallel and never on the cooperative pool.
public actor LogManager {
    public let dataDirectory: String
    private let fileSystem: any FileSystem
    private let executors: [IOThreadExecutor]
    private let syncExecutor: IOThreadExecutor
    private let now: @Sendable () -> Int64
    private let log: @Sendable (String) -> Void
    private var logs: [TopicPartition: PartitionLogActor] = [:]
    /// The topic id each open log was checked against (`partition.metadata`).
    private var topicIDs: [TopicPartition: KafkaUUID] = [:]
    /// Partition directories moved aside because they belonged to an older topic of the same
    /// name, oldest first (also logged).
    public private(set) var staleDirectories: [String] = []
    /// The configuration each topic's logs use (defaults merged with the topic's overrides).
    private var topicConfigs: [TopicName: LogConfig] = [:]
    public let defaultConfig: LogConfig

    /// Upper bound on I/O threads; more than the disk's useful queue depth only adds switching.
    public static let ioThreadsMax = 64

    public init(fileSystem: any FileSystem, dataDirectory: String, defaultConfig: LogConfig, ioThreads: Int = 4,
                now: @escaping @Sendable () -> Int64, log: @escaping @Sendable (String) -> Void = { _ in }) {
        precondition((1...Self.ioThreadsMax).contains(ioThreads), "ioThreads must be 1...\(Self.ioThreadsMax)")
        self.fileSystem = fileSystem
        self.dataDirectory = dataDirectory
        self.defaultConfig = defaultConfig
        self.executors = (0..<ioThreads).map { IOThreadExecutor(name: "sluice-io-\($0)") }
        self.syncExecutor = IOThreadExecutor(name: "sluice-fsync")
        self.now = now
        self.log = log
    }

    public func directory(for partition: TopicPartition) -> String {
        joinPath(joinPath(dataDirectory, "topics"), "\(partition.topic)-\(partition.partition)")
    }

    /// The partitions that have a directory on disk (to reconcile with metadata at startup).
    public func partitionsOnDisk() throws(StorageError) -> [TopicPartition] {
        let topics = joinPath(dataDirectory, "topics")
        guard fileSystem.fileExists(topics) else { return [] }
        return try fileSystem.listDirectory(topics).compactMap { name -> TopicPartition? in
            guard let dash = name.lastIndex(of: "-"), let index = Int32(name[name.index(after: dash)...]),
                let topic = TopicName(rawValue: String(name[..<dash]))
            else { return nil }
            return TopicPartition(topic, PartitionIndex(index))
        }
    }

    public func setConfig(_ config: LogConfig, for topic: TopicName) async {
        topicConfigs[topic] = config
        for (partition, log) in logs where partition.topic == topic { await log.update(config: config) }
    }

    /// The open log of `partition`, opening (and recovering) or creating it on first use.
    ///
    /// With a `topicID` (the metadata image's id of the topic), the directory's
    /// `partition.metadata` must name that topic: a directory without one adopts it (written and
    /// fsynced), and a directory that names another id belongs to an earlier topic of the same
    /// name, deleted while this node was away. That directory is moved aside, never reopened,
    /// and the partition starts empty, so a re-created topic never serves the old topic's
    /// records. Without a `topicID` the file is neither checked nor written.
    public func log(for partition: TopicPartition, topicID: KafkaUUID? = nil) async throws(LogError) -> PartitionLogActor {
        let directory = directory(for: partition)
        if let existing = logs[partition] {
            guard let topicID else { return existing }
            var recorded = topicIDs[partition]
            if recorded == nil { recorded = try readTopicID(directory) }
            if recorded == nil || recorded == topicID {
                if recorded == nil { try writeTopicID(topicID, directory) }
                topicIDs[partition] = topicID
                return existing
            }
            // The topic was deleted and re-created while its old log stayed open here.
            logs.removeValue(forKey: partition)
            topicIDs.removeValue(forKey: partition)
            do throws(StorageError) { try await existing.close() } catch { throw .storage(error) }
            // Another caller may have opened the partition during the await: start over.
            return try await log(for: partition, topicID: topicID)
        }
        if let topicID {
            let recorded = fileSystem.fileExists(directory) ? try readTopicID(directory) : nil
            if let recorded, recorded != topicID { try moveAside(directory, staleTopicID: recorded, of: partition, newTopicID: topicID) }
            if recorded != topicID {
                do throws(StorageError) { try fileSystem.createDirectory(directory) } catch { throw .storage(error) }
                try writeTopicID(topicID, directory)
            }
        }
        let config = topicConfigs[partition.topic] ?? defaultConfig
        var hasher = Hasher()
        hasher.combine(partition)
        let executor = executors[Int(UInt(bitPattern: hasher.finalize()) % UInt(executors.count))]
        let actor = try PartitionLogActor(fileSystem: fileSystem, directory: directory, config: config,
                                          executor: executor, syncExecutor: syncExecutor, now: now)
        logs[partition] = actor
        if let topicID { topicIDs[partition] = topicID }
        return actor
    }

    /// Opens a log and reports what recovery did, as the node does for every local replica at
    /// startup. Pass the topic's id so an old topic's directory of the same name is never
    /// reopened (see `log(for:topicID:)`).
    public func open(_ partition: TopicPartition, topicID: KafkaUUID? = nil) async throws(LogError) -> PartitionLogActor {
        let actor = try await log(for: partition, topicID: topicID)
        let report = await actor.openReport
        if report.truncatedBytes > 0 || report.rebuiltIndexSegments > 0 {
            log("recovered \(partition): cut \(report.truncatedBytes) bytes, rebuilt indexes of \(report.rebuiltIndexSegments) segment(s)"
                + (report.reasons.isEmpty ? "" : "; " + report.reasons.joined(separator: "; ")))
        }
        return actor
    }

    private func readTopicID(_ directory: String) throws(LogError) -> KafkaUUID? {
        do throws(StorageError) {
            return try PartitionMetadataFile(fileSystem: fileSystem, directory: directory).read()
        } catch {
            throw .storage(error)
        }
    }

    private func writeTopicID(_ topicID: KafkaUUID, _ directory: String) throws(LogError) {
        do throws(StorageError) {
            try PartitionMetadataFile(fileSystem: fileSystem, directory: directory).write(topicID: topicID)
        } catch {
            throw .storage(error)
        }
    }

    /// Renames `directory` to `<topic>-<partition>.<staleTopicID>-stale` (`-<n>-stale` if that
    /// exists too): the name ends in `-stale`, not a partition index, so `partitionsOnDisk`
    /// skips it, and an operator can still inspect or delete it. Kept, not deleted, because a
    /// mismatch can also mean an operator copied directories between nodes by mistake.
    private func moveAside(_ directory: String, staleTopicID: KafkaUUID, of partition: TopicPartition,
                           newTopicID: KafkaUUID) throws(LogError) {
        var target = "\(directory).\(staleTopicID)-stale"
        var n = 1
        while fileSystem.fileExists(target) {
            target = "\(directory).\(staleTopicID)-\(n)-stale"
            n += 1
        }
        do throws(StorageError) {
            try fileSystem.rename(directory, to: target)
            try fileSystem.syncDirectory(parentPath(of: directory))
        } catch {
            throw .storage(error)
        }
        staleDirectories.append(target)
        log("\(partition): \(directory) belongs to topic id \(staleTopicID), not \(newTopicID) (the topic was re-created); "
            + "moved it to \(target) and starting empty")
    }

    public var openPartitions: [TopicPartition] { logs.keys.sorted() }

    /// Closes and deletes a partition's log (topic deletion or reassignment away).
    public func delete(_ partition: TopicPartition) async throws(StorageError) {
        topicIDs.removeValue(forKey: partition)
        if let actor = logs.removeValue(forKey: partition) {
            try await actor.delete()
        } else {
            try fileSystem.remove(directory(for: partition))
        }
    }

    /// One maintenance pass over every open log; returns the number of segments deleted. A
    /// failing log is reported and skipped so the others are still maintained.
    @discardableResult
    public func maintain() async -> Int {
        var deleted = 0
        for (partition, actor) in logs {
            do throws(LogError) {
                deleted += try await actor.maintain()
            } catch {
                log("maintenance of \(partition) failed: \(error)")
            }
        }
        return deleted
    }

    /// Runs `maintain()` every `interval` until the task is cancelled (graceful shutdown
    /// cancels it, then calls `closeAll()`).
    public func runMaintenance(every interval: Duration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await maintain()
        }
    }

    /// Clean shutdown of every log: flush, checkpoint, clean-shutdown marker.
    public func closeAll() async {
        for (partition, actor) in logs {
            do throws(StorageError) { try await actor.close() } catch { log("closing \(partition) failed: \(error)") }
        }
        logs.removeAll()
        topicIDs.removeAll()
        for executor in executors { executor.shutdown() }
        syncExecutor.shutdown()
    }
}
