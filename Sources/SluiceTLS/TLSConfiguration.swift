/// Everything needed to build a ``TLSContext``: where the PEM files are and how strict to be.
///
/// One value describes one side of a listener or a client. The protocol choices are fixed on
/// purpose (DESIGN.md §2.6): TLS 1.2 and 1.3 only, no renegotiation, no compression; TLS 1.3 uses
/// OpenSSL's default suites and TLS 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305.
public struct TLSConfiguration: Sendable, Equatable {
    /// Whether a server asks for, and insists on, a client certificate.
    public enum ClientAuthentication: String, Sendable, Equatable, CaseIterable {
        /// No certificate is requested.
        case none
        /// A certificate is requested and verified if sent; a client without one is accepted.
        case optional
        /// The handshake fails unless the client presents a certificate that verifies.
        case required
    }

    /// Which end of the handshake this configuration is for.
    public enum Role: String, Sendable, Equatable {
        case server
        case client
    }

    public var role: Role
    /// PEM file with the leaf certificate first, then any intermediates. Required for servers;
    /// for clients it is the client certificate for mutual TLS.
    public var certificateChainPath: String?
    /// PEM private key matching the leaf of ``certificateChainPath``.
    public var privateKeyPath: String?
    /// PEM bundle of CA certificates that peers must chain to. Clients without one use the
    /// system's default trust store; a server that verifies clients needs one.
    public var caBundlePath: String?
    /// Servers only. Default `.none`.
    public var clientAuthentication: ClientAuthentication
    /// Clients only: the name the server's certificate must carry, a DNS name (checked against
    /// DNS SANs and sent as SNI) or an IP address (checked against IP SANs, no SNI). A
    /// ``TLSClientHandler`` may override it per connection.
    public var serverName: String?
    /// Limit on plaintext written before the handshake finishes and held until it does. Writes
    /// beyond it fail with ``TLSError/pendingPlaintextLimitExceeded(limitBytes:)``; after the
    /// handshake nothing is held (writes are encrypted immediately and the channel's own
    /// writability governs back-pressure). Default 8 MiB, ample for a Kafka request.
    public var pendingPlaintextBytesMax: Int
    /// How long ``TLSHandler`` waits for the peer's `close_notify` after sending its own before
    /// closing the socket anyway. Default 5 s.
    public var closeNotifyWaitMax: Duration

    public static func server(certificateChainPath: String, privateKeyPath: String,
                              caBundlePath: String? = nil,
                              clientAuthentication: ClientAuthentication = .none) -> TLSConfiguration {
        TLSConfiguration(role: .server, certificateChainPath: certificateChainPath,
                         privateKeyPath: privateKeyPath, caBundlePath: caBundlePath,
                         clientAuthentication: clientAuthentication, serverName: nil)
    }

    public static func client(caBundlePath: String?, serverName: String? = nil,
                              certificateChainPath: String? = nil,
                              privateKeyPath: String? = nil) -> TLSConfiguration {
        TLSConfiguration(role: .client, certificateChainPath: certificateChainPath,
                         privateKeyPath: privateKeyPath, caBundlePath: caBundlePath,
                         clientAuthentication: .none, serverName: serverName)
    }

    public init(role: Role, certificateChainPath: String?, privateKeyPath: String?,
                caBundlePath: String?, clientAuthentication: ClientAuthentication,
                serverName: String?, pendingPlaintextBytesMax: Int = 8 << 20,
                closeNotifyWaitMax: Duration = .seconds(5)) {
        self.role = role
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.caBundlePath = caBundlePath
        self.clientAuthentication = clientAuthentication
        self.serverName = serverName
        self.pendingPlaintextBytesMax = pendingPlaintextBytesMax
        self.closeNotifyWaitMax = closeNotifyWaitMax
    }
}
