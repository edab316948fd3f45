/// A small text file replaced atomically: written to `<name>.tmp`, fsynced, renamed over the
/// old file, and the directory fsynced. A crash leaves either the old or the new content,
/// never a mix. Text, as Kafka's checkpoints are, so an operator can read it with `cat`.
///
/// Format: line 1 is the format version, line 2 the number of entry lines, then the entries,
/// each a line of space-separated fields.
struct CheckpointFile {
    let fileSystem: any FileSystem
    let path: String
    let version: Int

    func write(_ entries: [[String]]) throws(StorageError) {
        var text = "\(version)\n\(entries.count)\n"
        for entry in entries { text += entry.joined(separator: " ") + "\n" }
        try fileSystem.replaceAtomically(path, with: text)
    }

    /// The entries, or `nil` if the file does not exist. A file that exists but does not parse
    /// is `.corrupt`: checkpoints are written atomically, so that is real damage.
    func read(fieldsPerEntry: Int) throws(StorageError) -> [[String]]? {
        guard fileSystem.fileExists(path) else { return nil }
        let file = try fileSystem.open(path, create: false)
        defer { file.close() }
        let text = String(decoding: try file.readAll(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2, Int(lines[0]) == version, let count = Int(lines[1]), count >= 0,
            lines.count >= 2 + count
        else {
            throw .corrupt(path: path, position: 0, reason: "not a version \(version) checkpoint")
        }
        var entries: [[String]] = []
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == fieldsPerEntry else {
                throw .corrupt(path: path, position: 0, reason: "entry '\(line)' does not have \(fieldsPerEntry) fields")
            }
            entries.append(fields)
        }
        return entries
    }
}
