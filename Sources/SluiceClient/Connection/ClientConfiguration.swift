import SluiceCore
import SluiceTLS

/// Settings shared by the producer, the consumer and the admin client: where the cluster is,
/// how to reach it, and how long to wait. One value configures one ``SluiceClient``.
public struct ClientConfiguration: Sendable {
    /// Addresses (`host:port`) to learn the cluster from. Any one reachable node is enough: the
    /// client asks it for the brokers and then connects to each partition's leader directly.
    public var bootstrap: [String]
    /// Sent in every request header; shows up in the nodes' logs.
    public var clientID: String = "sluice-client"
    /// TLS to every node (nil: plaintext), as the nodes' client listener is configured.
    public var tls: ClientTLS? = nil
    /// Longest a single request may wait for its response before the connection is closed and
    /// every call pending on it fails (Kafka's `request.timeout.ms`).
    public var requestTimeout: Duration = .seconds(30)
    /// Longest a TCP connect plus the ApiVersions handshake may take.
    public var connectTimeout: Duration = .seconds(10)
    /// Cached metadata older than this is refreshed before it is used (`metadata.max.age.ms`).
    public var metadataMaxAge: Duration = .seconds(300)
    /// Requests written to one connection before their responses arrive; more wait in order
    /// (Kafka's `max.in.flight.requests.per.connection`).
    public var inFlightRequestsMax: Int = 5
    /// Waiting requests per connection beyond the in-flight ones; more fail at once.
    public var queuedRequestsMax: Int = 10_000
    /// Pause before retrying after a retriable error (`retry.backoff.ms`).
    public var retryBackoff: Duration = .milliseconds(100)
    /// Whether a Metadata request may create a topic it names (when the nodes allow it).
    /// Off by default so that a misspelt topic is an error, not a new topic.
    public var allowAutoTopicCreation: Bool = false
    /// Largest response frame accepted from a node.
    public var frameBytesMax: Int = Limits.frameBytesMax

    public init(bootstrap: [String]) {
        self.bootstrap = bootstrap
    }

    /// Every problem with the settings, one sentence each (empty when valid).
    public func problems() -> [String] {
        var problems: [String] = []
        if bootstrap.isEmpty { problems.append("bootstrap is empty: give at least one host:port of a node") }
        for address in bootstrap where BrokerAddress(address) == nil {
            problems.append("bootstrap address '\(address)' is not host:port")
        }
        if requestTimeout <= .zero { problems.append("requestTimeout must be positive") }
        if connectTimeout <= .zero { problems.append("connectTimeout must be positive") }
        if inFlightRequestsMax < 1 { problems.append("inFlightRequestsMax must be at least 1") }
        if queuedRequestsMax < 0 { problems.append("queuedRequestsMax must not be negative") }
        if frameBytesMax < 1024 { problems.append("frameBytesMax must be at least 1024 bytes") }
        return problems
    }
}

/// TLS settings for connections to the nodes (DESIGN §2.6). The nodes' certificates are
/// verified against `caFile` and the host name (or IP) each connection dials, unless
/// `serverName` names the certificate to expect instead.
public struct ClientTLS: Sendable {
    /// PEM bundle of the CAs the nodes' certificates chain to (nil: the system trust store).
    public var caFile: String?
    /// PEM client certificate, for nodes that require one (mutual TLS).
    public var certificateFile: String?
    /// PEM key of `certificateFile`.
    public var privateKeyFile: String?
    /// The name every node's certificate must carry, overriding the dialled host.
    public var serverName: String?

    public init(caFile: String?, certificateFile: String? = nil, privateKeyFile: String? = nil,
                serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.serverName = serverName
    }

    var configuration: TLSConfiguration {
        .client(caBundlePath: caFile, serverName: serverName,
                certificateChainPath: certificateFile, privateKeyPath: privateKeyFile)
    }
}

/// A node's `host:port`, parsed once.
struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv6 as `[::1]:9092`); nil if it is not one.
    init?(_ text: String) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else { return nil }
        self.host = String(host)
        self.port = number
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
