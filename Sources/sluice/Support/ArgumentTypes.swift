import ArgumentParser
import SluiceClient
import SluiceCore

/// `--hasher`: a key hasher by its name (murmur2, murmur3, crc32, xxhash32).
struct HasherArgument: ExpressibleByArgument {
    var kind: KeyHasherKind

    init(_ kind: KeyHasherKind) {
        self.kind = kind
    }

    init?(argument: String) {
        guard let kind = KeyHasherKind(rawValue: argument.lowercased()) else { return nil }
        self.kind = kind
    }

    var defaultValueDescription: String { kind.rawValue }
    static var allValueStrings: [String] { KeyHasherKind.allCases.map(\.rawValue) }
}

/// `--acks`: all (-1), leader (1) or none (0).
struct AcksArgument: ExpressibleByArgument {
    var acks: ProducerOptions.Acks

    init(_ acks: ProducerOptions.Acks) {
        self.acks = acks
    }

    init?(argument: String) {
        switch argument.lowercased() {
        case "all", "-1": acks = .all
        case "leader", "1": acks = .leader
        case "none", "0": acks = .none
        default: return nil
        }
    }

    var defaultValueDescription: String { name }
    static var allValueStrings: [String] { ["all", "1", "0"] }

    /// The Kafka spelling: all, 1 or 0.
    var name: String {
        switch acks {
        case .all: "all"
        case .leader: "1"
        case .none: "0"
        }
    }
}

/// `--compression`: a codec the producer can build (none, lz4, gzip).
struct CompressionArgument: ExpressibleByArgument {
    var codec: ProducerOptions.Compression

    init(_ codec: ProducerOptions.Compression) {
        self.codec = codec
    }

    init?(argument: String) {
        guard let codec = ProducerOptions.Compression.allCases.first(where: { $0.description == argument.lowercased() }),
              [.none, .lz4, .gzip].contains(codec) else { return nil }
        self.codec = codec
    }

    var defaultValueDescription: String { codec.description }
    static var allValueStrings: [String] { ["none", "lz4", "gzip"] }
}

/// A topic name, validated as the cluster would.
struct TopicArgument: ExpressibleByArgument {
    var name: TopicName

    init?(argument: String) {
        guard let name = TopicName(rawValue: argument) else { return nil }
        self.name = name
    }

    var defaultValueDescription: String { name.rawValue }
}

extension ProducerOptions {
    /// Producer options from the flags `produce` and `bench produce` share.
    static func fromFlags(acks: AcksArgument, compression: CompressionArgument, lingerMs: Int?,
                          batchSize: Int?, partitioning: Partitioning) -> ProducerOptions {
        var options = ProducerOptions(partitioning: partitioning, acks: acks.acks, compression: compression.codec)
        if let lingerMs { options.linger = .milliseconds(lingerMs) }
        if let batchSize { options.batchBytes = batchSize }
        return options
    }
}
