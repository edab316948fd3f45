import SluiceCore
import SluiceWire

/// What went wrong in a client call, as a sentence that says what to do about it.
///
/// ``server(_:api:resource:message:)`` carries the Kafka error code a node answered with, the
/// API and the topic, partition or group it concerned; the other cases are the client's own.
public enum SluiceClientError: Error, CustomStringConvertible, Sendable {
    /// The settings are unusable; each string names one problem.
    case invalidConfiguration([String])
    /// No bootstrap address (nor any known node) answered; each entry is "address: reason".
    case noNodeReachable([String])
    /// A TCP or TLS connection to `address` could not be made.
    case connectionFailed(address: String, reason: String)
    /// The connection to `address` closed while the call was pending (node down, TLS failure,
    /// or the client was closed).
    case connectionClosed(address: String, reason: String)
    /// No response within the request timeout; the connection was closed.
    case requestTimedOut(address: String, api: String, timeout: Duration)
    /// The node supports no version of `api` this client can speak.
    case unsupportedVersion(api: String, address: String)
    /// A response could not be decoded.
    case malformedResponse(api: String, address: String, detail: String)
    /// A node answered with a Kafka error code.
    case server(KafkaErrorCode, api: KafkaAPIKey, resource: String?, message: String?)
    /// The topic does not exist (and was not created automatically).
    case unknownTopic(TopicName)
    /// The partition index is not below the topic's partition count.
    case unknownPartition(TopicPartition, partitionCount: Int)
    /// The metadata names a node the client has no address for.
    case unknownNode(NodeID)
    /// A record (or the batch holding it alone) is larger than the producer allows.
    case recordTooLarge(bytes: Int, bytesMax: Int)
    /// A batch could not be delivered within the delivery timeout; `lastError` says why.
    case deliveryTimedOut(TopicPartition, timeout: Duration, lastError: String)
    /// The producer, consumer or client was closed before the call completed.
    case closed
    /// A name is not a valid topic name.
    case invalidTopicName(String, reason: String)
    /// A value given to a call is unusable (e.g. a negative partition count).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let problems):
            "the client configuration is invalid: " + problems.joined(separator: "; ")
        case .noNodeReachable(let attempts):
            "no node could be reached (\(attempts.joined(separator: "; "))); check the bootstrap addresses and that the nodes run"
        case .connectionFailed(let address, let reason):
            "could not connect to \(address): \(reason); check that the node runs and the address and TLS settings are right"
        case .connectionClosed(let address, let reason):
            "the connection to \(address) closed before the answer arrived (\(reason))"
        case .requestTimedOut(let address, let api, let timeout):
            "\(api) to \(address) got no answer within \(timeout); the connection was closed — the node may be overloaded or stuck"
        case .unsupportedVersion(let api, let address):
            "\(address) supports no version of \(api) this client speaks; upgrade the node or the client"
        case .malformedResponse(let api, let address, let detail):
            "the \(api) answer from \(address) could not be read: \(detail)"
        case .server(let code, let api, let resource, let message):
            "\(api) failed" + (resource.map { " for \($0)" } ?? "") + ": \(code)" + (message.map { " — \($0)" } ?? "")
        case .unknownTopic(let topic):
            "topic '\(topic)' does not exist; create it first (e.g. `sluice topic create \(topic)`)"
        case .unknownPartition(let partition, let count):
            "partition \(partition.partition) does not exist: topic '\(partition.topic)' has \(count) partition(s) (0…\(count - 1))"
        case .unknownNode(let node):
            "node \(node) is not in the cluster metadata"
        case .recordTooLarge(let bytes, let bytesMax):
            "the record is \(bytes) bytes, more than the \(bytesMax) bytes a batch may hold; raise batchBytesMax or send smaller records"
        case .deliveryTimedOut(let partition, let timeout, let lastError):
            "could not deliver to \(partition) within \(timeout): \(lastError)"
        case .closed:
            "the client was closed"
        case .invalidTopicName(let name, let reason):
            "'\(name)' is not a valid topic name: \(reason)"
        case .invalidArgument(let detail):
            detail
        }
    }

    /// The Kafka error code, if a node answered with one.
    public var kafkaErrorCode: KafkaErrorCode? {
        if case .server(let code, _, _, _) = self { return code }
        return nil
    }

    /// Whether the same call may succeed later without changing it: connection problems,
    /// timeouts and Kafka's retriable codes (a new leader, a coordinator moving, …).
    public var isRetriable: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .requestTimedOut, .noNodeReachable: true
        case .server(let code, _, _, _): code.isRetriable
        default: false
        }
    }

    /// Whether the error means the cached metadata (leaders, brokers) may be stale.
    var invalidatesMetadata: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .requestTimedOut, .noNodeReachable: true
        case .server(let code, _, _, _):
            [.notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch,
             .unknownLeaderEpoch, .kafkaStorageError, .notController, .brokerNotAvailable].contains(code)
        default: false
        }
    }

    /// A `server` error for a raw error code; codes this client does not know read as
    /// UNKNOWN_SERVER_ERROR with the number in the message.
    static func server(code: Int16, api: KafkaAPIKey, resource: String?, message: String?) -> SluiceClientError {
        guard let known = KafkaErrorCode(rawValue: code) else {
            return .server(.unknownServerError, api: api, resource: resource,
                           message: "error code \(code)" + (message.map { ": \($0)" } ?? ""))
        }
        return .server(known, api: api, resource: resource, message: message)
    }
}

extension KafkaErrorCode {
    /// The code as an error to throw, nil for NONE.
    func error(api: KafkaAPIKey, resource: String?, message: String? = nil) -> SluiceClientError? {
        self == .none ? nil : .server(self, api: api, resource: resource, message: message)
    }
}
