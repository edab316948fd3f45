import SluiceCore

/// `partition.metadata`: which topic a partition directory belongs to, by topic id, as Kafka
/// keeps it (KIP-516). A topic deleted and re-created under the same name gets a new id, so a
/// node that missed the deletion (it was down) can tell that the records in
/// `<topic>-<partition>/` are not the new topic's and must never be served.
///
/// ```
/// version: 0
/// topic_id: 0123456789abcdef0123456789abcdef     32 hex digits (KafkaUUID.description)
/// ```
/// Replaced atomically (`FileSystem.replaceAtomically`), like `CheckpointFile`.
struct PartitionMetadataFile {
    static let fileName = "partition.metadata"
    static let version = 0

    let fileSystem: any FileSystem
    let path: String

    init(fileSystem: any FileSystem, directory: String) {
        self.fileSystem = fileSystem
        path = joinPath(directory, Self.fileName)
    }

    /// The recorded topic id, or nil when the file does not exist. A file that does not parse
    /// is `.corrupt`: it is written atomically, so that is real damage.
    func read() throws(StorageError) -> KafkaUUID? {
        guard fileSystem.fileExists(path) else { return nil }
        let file = try fileSystem.open(path, create: false)
        defer { file.close() }
        let text = String(decoding: try file.readAll(), as: UTF8.self)
        var version: Int?
        var topicID: KafkaUUID?
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if key == "version" { version = Int(value) }
            if key == "topic_id" { topicID = KafkaUUID(hex: value) }
        }
        guard version == Self.version, let topicID else {
            throw .corrupt(path: path, position: 0, reason: "not a version \(Self.version) partition.metadata with a topic_id")
        }
        return topicID
    }

    func write(topicID: KafkaUUID) throws(StorageError) {
        try fileSystem.replaceAtomically(path, with: "version: \(Self.version)\ntopic_id: \(topicID)\n")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " || s.last == "\r" { s.removeLast() }
        return s
    }
}
