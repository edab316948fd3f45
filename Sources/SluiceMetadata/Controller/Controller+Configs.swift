import SluiceCore
import SluiceWire

/// One change of IncrementalAlterConfigs (KIP-339) to one config key.
public enum ConfigOperation: Hashable, Sendable {
    case set(String)
    /// Back to the default.
    case delete
    /// Adds the items of a comma-separated list value that the list lacks.
    case append(String)
    /// Removes the items of a comma-separated list value.
    case subtract(String)

    /// Kafka's `AlterConfigOp.OpType` ids: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT; nil for
    /// anything else (INVALID_REQUEST).
    public init?(wireID: Int8, value: String?) {
        switch wireID {
        case 0: self = .set(value ?? "")
        case 1: self = .delete
        case 2: self = .append(value ?? "")
        case 3: self = .subtract(value ?? "")
        default: return nil
        }
    }
}

/// The answer for one config resource (a topic or a broker) of AlterConfigs or
/// IncrementalAlterConfigs.
public struct ConfigResourceResult: Hashable, Sendable {
    public var error: KafkaErrorCode
    public var message: String?
    public init(error: KafkaErrorCode, message: String? = nil) {
        self.error = error
        self.message = message
    }
    public static let success = ConfigResourceResult(error: .none, message: nil)
    static func failure(_ error: KafkaErrorCode, _ message: String) -> ConfigResourceResult {
        ConfigResourceResult(error: error, message: message)
    }
}

extension TopicConfigKey {
    /// Keys whose value is a comma-separated list in Kafka (the only ones APPEND and SUBTRACT
    /// apply to). `cleanup.policy` is one even though Sluice accepts only `delete` in it.
    public var isList: Bool { self == .cleanupPolicy }
}

extension Controller {
    /// IncrementalAlterConfigs for one topic: each operation applies to the topic's current
    /// override (or the default, for APPEND and SUBTRACT), then the whole result is validated
    /// and written as `ConfigRecord`s, all or nothing.
    public mutating func incrementalAlterTopicConfigs(
        _ name: String, _ operations: [(key: String, operation: ConfigOperation)], validateOnly: Bool
    ) -> ControllerOutput<ConfigResourceResult> {
        if let duplicate = Self.firstDuplicate(operations.map(\.key)) {
            return ControllerOutput(units: [], result: .failure(.invalidRequest, "config \(duplicate) appears more than once"))
        }
        guard let topicName = TopicName(rawValue: name), let topic = image.topic(named: topicName) else {
            return ControllerOutput(units: [], result: .failure(.unknownTopicOrPartition, "no topic named \(name)"))
        }
        var entries: [String: String?] = [:]
        for (key, operation) in operations {
            switch resolve(operation, key: key, current: topic.configs[key], topic: topicName) {
            case .success(let value): entries[key] = .some(value)
            case .failure(let failure): return ControllerOutput(units: [], result: Self.configResult(failure.result))
            }
        }
        return alterTopicConfigs(name, entries, validateOnly: validateOnly).map(Self.configResult)
    }

    /// AlterConfigs (the legacy, non-incremental API) for one topic: the request states the
    /// topic's complete set of overrides, so every override it leaves out goes back to the default.
    public mutating func replaceTopicConfigs(
        _ name: String, _ configs: [(key: String, value: String?)], validateOnly: Bool
    ) -> ControllerOutput<ConfigResourceResult> {
        if let duplicate = Self.firstDuplicate(configs.map(\.key)) {
            return ControllerOutput(units: [], result: .failure(.invalidRequest, "config \(duplicate) appears more than once"))
        }
        guard let topicName = TopicName(rawValue: name), let topic = image.topic(named: topicName) else {
            return ControllerOutput(units: [], result: .failure(.unknownTopicOrPartition, "no topic named \(name)"))
        }
        if let unset = configs.first(where: { $0.value == nil }) {
            return ControllerOutput(units: [], result: .failure(.invalidConfig, "config \(unset.key) has no value"))
        }
        var entries: [String: String?] = [:]
        for key in topic.configs.keys { entries[key] = .some(nil) }
        for (key, value) in configs { entries[key] = .some(value) }
        return alterTopicConfigs(name, entries, validateOnly: validateOnly).map(Self.configResult)
    }

    /// Broker configs come from each node's `sluice.toml` and none changes at run time, so
    /// every key is refused, with a message that says whether Sluice knows it at all. The
    /// resource name must be a registered broker's id, or empty (the cluster-wide default).
    public func alterBrokerConfigs(_ resourceName: String, keys: [String]) -> ControllerOutput<ConfigResourceResult> {
        ControllerOutput(units: [], result: brokerConfigProblem(resourceName, keys: keys) ?? .success)
    }

    private func brokerConfigProblem(_ resourceName: String, keys: [String]) -> ConfigResourceResult? {
        if !resourceName.isEmpty {
            guard let id = Int32(resourceName), image.brokers[NodeID(id)] != nil else {
                return .failure(.invalidRequest, "broker resource '\(resourceName)' is not a registered broker id")
            }
        }
        guard let key = keys.first else { return nil }
        if Self.readOnlyBrokerKeys.contains(key) {
            return .failure(.invalidConfig, "broker config \(key) is read-only: set it in sluice.toml and restart the node")
        }
        return .failure(.invalidConfig, "unknown broker config \(key) (broker configs are read-only)")
    }

    /// The broker settings DescribeConfigs shows; all come from the node's config file.
    public static let readOnlyBrokerKeys: Set<String> = [
        "node.id", "auto.create.topics.enable", "num.partitions", "default.replication.factor",
        "min.insync.replicas", "log.segment.bytes",
    ]

    /// The value `operation` leaves for `key`, or nil to delete the override.
    private func resolve(
        _ operation: ConfigOperation, key: String, current: String?, topic: TopicName
    ) -> Result<String?, PlanFailure> {
        func fail(_ code: KafkaErrorCode, _ message: String) -> Result<String?, PlanFailure> {
            .failure(PlanFailure(result: .failure(topic.rawValue, code, message)))
        }
        guard let known = TopicConfigKey(rawValue: key) else { return fail(.invalidConfig, "unknown topic config \(key)") }
        switch operation {
        case .set(let value): return .success(value)
        case .delete: return .success(nil)
        case .append(let items), .subtract(let items):
            guard known.isList else { return fail(.invalidConfig, "\(key) is not a list config; APPEND and SUBTRACT do not apply") }
            let base = current ?? options.topicConfigDefaults[known]
            let existing = Self.listItems(base)
            let changes = Self.listItems(items)
            if case .append = operation {
                return .success((existing + changes.filter { !existing.contains($0) }).joined(separator: ","))
            }
            return .success(existing.filter { !changes.contains($0) }.joined(separator: ","))
        }
    }

    private static func listItems(_ value: String) -> [String] {
        value.split(separator: ",").map { item in
            String(item.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }.filter { !$0.isEmpty }
    }

    static func firstDuplicate(_ keys: [String]) -> String? {
        var seen: Set<String> = []
        return keys.first { !seen.insert($0).inserted }
    }

    static func configResult(_ result: TopicResult) -> ConfigResourceResult {
        ConfigResourceResult(error: result.error, message: result.message)
    }
}

extension ControllerOutput {
    /// The same records with the answer translated.
    func map<Other: Sendable>(_ transform: (Result) -> Other) -> ControllerOutput<Other> {
        ControllerOutput<Other>(batches: batches, result: transform(result), notices: notices)
    }
}
