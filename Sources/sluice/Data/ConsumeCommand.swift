import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice consume TOPIC`: prints records, alone or as a member of a group.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print a topic's records.",
        discussion: """
            Stops after --count records, after --timeout seconds without a record, or on Ctrl-C (committing \
            what was printed, with --group). Without --group every partition (or each --partition) is read \
            from --from (default latest). With --group the consumer joins the group and reads the partitions \
            it is assigned from the group's committed offsets; --from earliest|latest says where partitions \
            without one start. --group with --partition reads those partitions without joining, committing \
            to the group.
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The topic.") var topic: TopicArgument
    @Option(help: "The consumer group to read (and commit) as.") var group: String?
    @Option(help: ArgumentHelp("Where to start: earliest, latest, an OFFSET, or a TIME (ISO-8601 like 2026-11-21T10:00:00Z, or epoch ms).",
                               valueName: "position"))
    var from: StartPosition?
    @Option(help: "Stop after this many records.") var count: Int?
    @Option(help: "Read only these partitions (repeatable).") var partition: [Int32] = []
    @Option(help: ArgumentHelp("Text output per record; placeholders {key} {value} {partition} {offset} {timestamp} {topic}, escapes \\t \\n.",
                               valueName: "format"))
    var format = "{value}"
    @Option(help: "Stop after this many seconds without a record.") var timeout: Double?

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must not be negative.") }
        if let timeout, !(timeout > 0 && timeout <= 86_400) { throw ValidationError("--timeout must lie in (0, 86400] seconds.") }
        if partition.contains(where: { $0 < 0 }) { throw ValidationError("--partition must not be negative.") }
        if group != nil, partition.isEmpty, let from {
            switch from.position {
            case .earliest, .latest: break
            default:
                throw ValidationError("With --group (and no --partition), --from can only be earliest or latest: "
                                      + "the group assigns the partitions. Add --partition to start at an offset or time.")
            }
        }
        if group == "" { throw ValidationError("--group must not be empty.") }
    }

    func run() async throws {
        let template = RecordFormat(format)
        var options = ConsumerOptions(groupID: group)
        options.commitPolicy = .afterEachBatch
        options.autoOffsetReset = from?.position == .earliest ? .earliest : .latest
        let json = output.isJSON ? JSONRecordStream() : nil
        let reason = try await cluster.withClient { client in
            let consumer = client.makeConsumer(options)
            do {
                try await start(consumer, client: client)
            } catch {
                await consumer.close()
                throw error
            }
            let idle = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
            return try await ConsumeSession(consumer: consumer, count: count, idleTimeout: idle).run { record in
                if let json { try json.write(record) } else { print(template.render(record)) }
                return true
            }
        }
        if let json { json.finish(reason: reason) }
    }

    /// Subscribes (a group without --partition) or assigns the partitions from their start.
    func start(_ consumer: Consumer, client: SluiceClient) async throws {
        if group != nil, partition.isEmpty {
            try await consumer.subscribe(to: [topic.name])
            return
        }
        let metadata = try await client.metadata(refresh: true)
        guard let count = metadata.partitionCount(of: topic.name) else { throw SluiceClientError.unknownTopic(topic.name) }
        let chosen = partition.isEmpty ? (0..<Int32(count)).map { $0 } : partition
        for index in chosen where index >= count {
            throw SluiceClientError.unknownPartition(TopicPartition(topic.name, PartitionIndex(index)), partitionCount: count)
        }
        let position: ConsumerPosition = from?.position ?? (group != nil ? .committed : .latest)
        try await consumer.assign(chosen.map { TopicPartition(topic.name, PartitionIndex($0)) }, from: position)
    }
}

/// `--from`: earliest, latest, an offset, or a time.
struct StartPosition: ExpressibleByArgument {
    var position: ConsumerPosition

    init?(argument: String) {
        switch argument.lowercased() {
        case "earliest", "beginning": position = .earliest
        case "latest", "end": position = .latest
        default:
            if let offset = Int64(argument), offset >= 0 {
                // Numbers this large are epoch milliseconds (2001 onwards), not offsets.
                position = offset >= Self.epochMillisecondsMin ? .timestamp(offset) : .offset(Offset(offset))
            } else if let millis = ISO8601Time.epochMilliseconds(argument) {
                position = .timestamp(millis)
            } else {
                return nil
            }
        }
    }

    /// 2001-09-09T01:46:40Z in ms: a number at least this large is read as a time, not an offset.
    static let epochMillisecondsMin: Int64 = 1_000_000_000_000
}

/// Renders a record through a `--format` template.
struct RecordFormat {
    private enum Piece {
        case text(String)
        case key, value, partition, offset, timestamp, topic
    }

    private var pieces: [Piece] = []

    init(_ template: String) {
        var text = ""
        var rest = Substring(template.replacingEscapes())
        let names: [(String, Piece)] = [("{key}", .key), ("{value}", .value), ("{partition}", .partition),
                                        ("{offset}", .offset), ("{timestamp}", .timestamp), ("{topic}", .topic)]
        while !rest.isEmpty {
            if let (name, piece) = names.first(where: { rest.hasPrefix($0.0) }) {
                if !text.isEmpty { pieces.append(.text(text)) }
                text = ""
                pieces.append(piece)
                rest = rest.dropFirst(name.count)
            } else {
                text.append(rest.removeFirst())
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
    }

    func render(_ record: ConsumerRecord) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let text): text
            case .key: record.keyBytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
            case .value: record.valueString ?? ""
            case .partition: "\(record.partition)"
            case .offset: "\(record.offset)"
            case .timestamp: "\(record.timestamp)"
            case .topic: "\(record.topic)"
            }
        }.joined()
    }
}

extension String {
    /// `\t`, `\n` and `\\` written in a shell argument, as the characters.
    func replacingEscapes() -> String {
        var result = ""
        var escaping = false
        for character in self {
            if escaping {
                switch character {
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "\\": result.append("\\")
                default: result.append("\\"); result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        if escaping { result.append("\\") }
        return result
    }
}

/// `consume --output json`: one document, `{"records": [...], "count": N, "stopped": "..."}`,
/// written as records arrive (so memory stays bounded however many are read).
final class JSONRecordStream: @unchecked Sendable {
    /// Only touched from the consume loop, one record at a time.
    private var written = 0

    struct Record: Encodable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var timestamp: Int64
        @Nullable var key: String?
        @Nullable var value: String?
    }

    func write(_ record: ConsumerRecord) throws {
        let line = try JSONText.encode(Record(
            topic: record.topic.rawValue, partition: record.partition.rawValue, offset: record.offset.rawValue,
            timestamp: record.timestamp.rawValue, key: record.keyBytes.map { String(decoding: $0, as: UTF8.self) },
            value: record.valueString), pretty: false)
        print(written == 0 ? "{\"records\": [\n  " + line : ",\n  " + line, terminator: "")
        written += 1
    }

    func finish(reason: ConsumeSession.StopReason) {
        print(written == 0 ? "{\"records\": [" : "\n]", terminator: "")
        if written == 0 { print("]", terminator: "") }
        print(", \"count\": \(written), \"stopped\": \"\(reason.rawValue)\"}")
    }
}
