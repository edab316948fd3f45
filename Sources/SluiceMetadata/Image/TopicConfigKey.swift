/// The topic config keys Sluice understands, with their value rules. Names are Kafka's where
/// Kafka has the concept; `flush.policy` is Sluice's (DESIGN §2.3: none, interval, always).
public enum TopicConfigKey: String, CaseIterable, Sendable {
    case retentionMs = "retention.ms"
    case retentionBytes = "retention.bytes"
    case segmentBytes = "segment.bytes"
    case segmentMs = "segment.ms"
    case minInsyncReplicas = "min.insync.replicas"
    case flushPolicy = "flush.policy"
    case cleanupPolicy = "cleanup.policy"
    /// When no in-sync replica is alive, may a live replica outside the ISR lead (losing the
    /// acknowledged records it lacks)? Off by default (DESIGN §1: `acks=all` is durable).
    case uncleanLeaderElectionEnable = "unclean.leader.election.enable"

    /// Smallest segment Sluice rolls to; smaller ones would be all index overhead.
    public static let segmentBytesMin: Int64 = 1024

    /// Why `value` is not acceptable for this key, or `nil` if it is.
    public func problem(with value: String) -> String? {
        func integer(in range: ClosedRange<Int64>) -> String? {
            guard let number = Int64(value), range.contains(number) else {
                return "\(rawValue) must be an integer in \(range.lowerBound)...\(range.upperBound), not '\(value)'"
            }
            return nil
        }
        switch self {
        case .retentionMs, .retentionBytes: return integer(in: -1...Int64.max)
        case .segmentBytes: return integer(in: Self.segmentBytesMin...Int64(Int32.max))
        case .segmentMs: return integer(in: 1...Int64.max)
        case .minInsyncReplicas: return integer(in: 1...Int64(Int32.max))
        case .flushPolicy:
            return ["none", "interval", "always"].contains(value)
                ? nil : "flush.policy must be none, interval or always, not '\(value)'"
        case .cleanupPolicy:
            // Compaction is not implemented; accepting "compact" would silently keep everything.
            return value == "delete" ? nil : "cleanup.policy must be delete (compaction is not supported), not '\(value)'"
        case .uncleanLeaderElectionEnable:
            return ["true", "false"].contains(value) ? nil : "\(rawValue) must be true or false, not '\(value)'"
        }
    }
}

/// The cluster-wide values a topic gets for keys it does not set (from the node config).
public struct TopicConfigDefaults: Hashable, Sendable {
    public var values: [TopicConfigKey: String]

    /// Kafka's defaults, which `Config/sluice.toml` also uses.
    public static let standard = TopicConfigDefaults(values: [
        .retentionMs: "604800000",
        .retentionBytes: "-1",
        .segmentBytes: "1073741824",
        .segmentMs: "604800000",
        .minInsyncReplicas: "1",
        .flushPolicy: "none",
        .cleanupPolicy: "delete",
        .uncleanLeaderElectionEnable: "false",
    ])

    public init(values: [TopicConfigKey: String]) {
        precondition(Set(values.keys) == Set(TopicConfigKey.allCases), "a default for every key")
        for (key, value) in values {
            precondition(key.problem(with: value) == nil, "default \(key.rawValue)=\(value) is invalid")
        }
        self.values = values
    }

    public subscript(key: TopicConfigKey) -> String { values[key]! }
}
