import ArgumentParser
import SluiceCore

/// `sluice`: the command-line tool, built on the client library only.
@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Operate a Sluice cluster: topics, producing, consuming, groups and benchmarks.",
        version: SluiceVersion.current,
        subcommands: [PartitionFor.self])
}

/// `sluice partition-for`: which partition a key lands on, computed offline.
struct PartitionFor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition-for",
        abstract: "Print the partition a key hashes to, without contacting a cluster.")

    @Option(help: "The record key (UTF-8).")
    var key: String

    @Option(help: "The topic's partition count.")
    var partitions: Int32

    @Option(help: "The key hasher: \(KeyHasherKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var hasher: String = KeyHasherKind.murmur2.rawValue

    func validate() throws {
        guard partitions > 0 else { throw ValidationError("--partitions must be at least 1.") }
        guard KeyHasherKind(rawValue: hasher) != nil else {
            throw ValidationError(
                "Unknown hasher '\(hasher)'. Choose one of: \(KeyHasherKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        let kind = KeyHasherKind(rawValue: hasher)!
        print(kind.hasher.partition(forKey: key, count: partitions))
    }
}
