import Foundation
import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice produce TOPIC`: one record per line of standard input.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send each line of standard input as a record.",
        discussion: """
            Each line is a record's value. --key gives every record the same key; --key-separator splits \
            each line into key and value at the first separator (lines without it get no key). Records \
            with a key go to the partition their key hashes to with --hasher; records without one are \
            spread round-robin; --partition sends every record to one partition.
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument
    @Option(help: "The key of every record.") var key: String?
    @Option(help: "Split each line into key and value at the first occurrence of this text.") var keySeparator: String?
    @Option(help: "Send every record to this partition.") var partition: Int32?
    @Option(help: "The key hasher.") var hasher = HasherArgument(.murmur2)
    @Option(help: "Replicas that must have a record before it counts as sent: all, 1 or 0.") var acks = AcksArgument(.all)
    @Option(help: "Batch compression: none, lz4 or gzip.") var compression = CompressionArgument(.none)
    @Option(help: "Milliseconds a batch waits for more records.") var lingerMs: Int?
    @Flag(help: "Print each record's delivery report as it arrives, one JSON line (key, value, and partition and offset or error), before the summary.")
    var printDeliveries = false

    func validate() throws {
        if key != nil && keySeparator != nil { throw ValidationError("Give --key or --key-separator, not both.") }
        if keySeparator == "" { throw ValidationError("--key-separator must not be empty.") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative.") }
        if let lingerMs, !(0...60_000).contains(lingerMs) { throw ValidationError("--linger-ms must lie in 0…60000.") }
    }

    func run() async throws {
        let partitioning: Partitioning = partition.map { .partition(PartitionIndex($0)) } ?? .recordKey(hasher.kind)
        let options = ProducerOptions.fromFlags(acks: acks, compression: compression, lingerMs: lingerMs, batchSize: nil,
                                                partitioning: partitioning)
        let tally = Locked(DeliveryTally())
        let lines = StandardInputLines()
        try await cluster.withClient { client in
            let producer = client.makeProducer(options)
            do {
                for await chunk in lines.chunks {
                    lines.didTake()
                    for line in chunk {
                        let (recordKey, value) = split(line)
                        let report = printDeliveries
                        try await producer.sendAndForget(ProducerRecord(topic: topic.name, key: recordKey, value: value)) { result in
                            tally.withLock { $0.record(result) }
                            if report { DeliveryLine(key: recordKey, value: value, result: result).print() }
                        }
                    }
                }
                try await producer.close()
            } catch {
                lines.stop()
                try? await producer.close()
                throw error
            }
        }
        let result = tally.withLock { $0 }
        if let failure = result.firstFailure {
            throw CLIError("\(result.failed) record(s) were not sent (\(result.sent) were): "
                           + CLIError.sentence(for: failure))
        }
        if output.isJSON {
            try output.printJSON(Produced(topic: topic.name.rawValue, records: result.sent,
                                          partitions: result.partitions.sorted { $0.key < $1.key }.map {
                                              .init(partition: $0.key.rawValue, records: $0.value.records,
                                                    firstOffset: $0.value.first.rawValue, lastOffset: $0.value.last.rawValue)
                                          }))
        } else {
            let spread = result.partitions.sorted { $0.key < $1.key }
                .map { "\($0.key): \($0.value.records)" }.joined(separator: ", ")
            print("produced \(result.sent) record(s) to \(topic.name)" + (spread.isEmpty ? "" : " (records per partition: \(spread))"))
        }
    }

    /// A line as key and value.
    func split(_ line: String) -> (key: String?, value: String) {
        if let key { return (key, line) }
        guard let keySeparator, let range = line.range(of: keySeparator) else { return (nil, line) }
        return (String(line[..<range.lowerBound]), String(line[range.upperBound...]))
    }

    /// The JSON document of `produce`.
    struct Produced: Encodable {
        struct Partition: Encodable {
            var partition: Int32
            var records: Int
            var firstOffset: Int64
            var lastOffset: Int64
        }
        var topic: String
        var records: Int
        var partitions: [Partition]
    }
}

/// What the delivery reports of a run said: records per partition with their offset range,
/// failures and the first failure's error.
struct DeliveryTally: Sendable {
    var sent = 0
    var failed = 0
    var firstFailure: SluiceClientError?
    var partitions: [PartitionIndex: (records: Int, first: Offset, last: Offset)] = [:]

    mutating func record(_ result: Result<RecordMetadata, SluiceClientError>) {
        switch result {
        case .success(let metadata):
            sent += 1
            if var entry = partitions[metadata.partition] {
                entry.records += 1
                entry.first = min(entry.first, metadata.offset)
                entry.last = max(entry.last, metadata.offset)
                partitions[metadata.partition] = entry
            } else {
                partitions[metadata.partition] = (1, metadata.offset, metadata.offset)
            }
        case .failure(let error):
            failed += 1
            if firstFailure == nil { firstFailure = error }
        }
    }
}

/// One delivery report of `produce --print-deliveries`: a JSON object on its own line, written
/// and flushed at once so that a program reading the pipe sees each acknowledgement when it
/// happens (the fault harness times them).
struct DeliveryLine: Encodable {
    var key: String?
    var value: String
    var partition: Int32?
    var offset: Int64?
    var error: String?

    init(key: String?, value: String, result: Result<RecordMetadata, SluiceClientError>) {
        self.key = key
        self.value = value
        switch result {
        case .success(let metadata):
            partition = metadata.partition.rawValue
            offset = metadata.offset.rawValue
        case .failure(let failure):
            error = CLIError.sentence(for: failure)
        }
    }

    func print() {
        guard let line = try? JSONText.encode(self, pretty: false) else { return }
        // Straight to the file descriptor, past stdio's buffer.
        DeliveryLine.output.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    /// Reports come from the producer's tasks: one line at a time.
    private static let output = Locked(())
}
