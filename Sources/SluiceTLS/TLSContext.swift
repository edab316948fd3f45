import COpenSSL
import Synchronization

/// An OpenSSL `SSL_CTX` built once from a ``TLSConfiguration`` and shared by every connection of
/// a listener or client. ``reload()`` re-reads the files and swaps in a new `SSL_CTX` for
/// connections made afterwards; open connections keep the one they started with (OpenSSL
/// reference-counts it from each `SSL`).
public final class TLSContext: Sendable {
    public let configuration: TLSConfiguration
    private let current: Mutex<SSLContextHandle>

    /// Validates the configuration, then loads it into OpenSSL. Throws every problem found:
    /// missing or unreadable files, non-PEM contents, a key that does not match the
    /// certificate, a CA bundle OpenSSL cannot use.
    public init(configuration: TLSConfiguration) throws(TLSConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.current = Mutex(try SSLContextHandle(configuration: configuration))
    }

    /// Builds a fresh `SSL_CTX` from the same paths (for renewed certificates) and uses it for
    /// connections made from now on. On failure the old context stays in use.
    public func reload() throws(TLSConfigurationError) {
        try configuration.validate()
        let fresh = try SSLContextHandle(configuration: configuration)
        current.withLock { $0 = fresh }
    }

    /// The context new connections use.
    var handle: SSLContextHandle { current.withLock { $0 } }
}

/// Owns one `SSL_CTX`.
///
/// `@unchecked Sendable`: the `SSL_CTX` is fully configured in `init` and never mutated after,
/// and OpenSSL documents `SSL_new` on a shared, no-longer-modified `SSL_CTX` as thread-safe.
final class SSLContextHandle: @unchecked Sendable {
    /// Invariant: non-null, configured, never modified after `init`.
    let pointer: OpaquePointer

    /// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD ciphers only.
    static let tls12CipherList = "ECDHE+AESGCM:ECDHE+CHACHA20"

    init(configuration: TLSConfiguration) throws(TLSConfigurationError) {
        _ = OpenSSLErrorQueue.drain()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else {
            throw TLSConfigurationError(problems: [.rejectedByOpenSSL(
                what: "SSL_CTX", path: "-", openSSL: OpenSSLErrorQueue.drainDescription())])
        }
        pointer = ctx
        // From here on `deinit` frees `ctx` if a load below throws.
        try configureProtocol(role: configuration.role)
        try loadFiles(configuration)
    }

    deinit { SSL_CTX_free(pointer) }

    private func configureProtocol(role: TLSConfiguration.Role) throws(TLSConfigurationError) {
        precondition(sluice_SSL_CTX_set_min_proto_version(pointer, sluice_TLS1_2_VERSION()) == 1)
        precondition(sluice_SSL_CTX_set_max_proto_version(pointer, sluice_TLS1_3_VERSION()) == 1)
        var options = sluice_SSL_OP_NO_RENEGOTIATION() | sluice_SSL_OP_NO_COMPRESSION()
            // Session resumption is not used (connections are long-lived), so TLS 1.3 servers
            // need not send tickets and TLS 1.2 servers need not keep a cache.
            | sluice_SSL_OP_NO_TICKET()
        if role == .server { options |= sluice_SSL_OP_CIPHER_SERVER_PREFERENCE() }
        _ = sluice_SSL_CTX_set_options(pointer, options)
        _ = sluice_SSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_OFF))
        if role == .server { _ = SSL_CTX_set_num_tickets(pointer, 0) }
        // Our SSL_write calls hand OpenSSL a pointer into a ByteBuffer; if a write ever had to be
        // retried from a different address OpenSSL must accept it rather than fail.
        _ = sluice_SSL_CTX_set_mode(pointer, sluice_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        guard SSL_CTX_set_cipher_list(pointer, Self.tls12CipherList) == 1 else {
            throw TLSConfigurationError(problems: [.rejectedByOpenSSL(
                what: "cipher list", path: Self.tls12CipherList,
                openSSL: OpenSSLErrorQueue.drainDescription())])
        }
    }

    private func loadFiles(_ configuration: TLSConfiguration) throws(TLSConfigurationError) {
        var problems: [TLSConfigurationError.Problem] = []
        if let chain = configuration.certificateChainPath {
            if SSL_CTX_use_certificate_chain_file(pointer, chain) != 1 {
                problems.append(.rejectedByOpenSSL(what: "certificate chain", path: chain,
                                                   openSSL: OpenSSLErrorQueue.drainDescription()))
            } else if let key = configuration.privateKeyPath {
                if SSL_CTX_use_PrivateKey_file(pointer, key, SSL_FILETYPE_PEM) != 1 {
                    // Loading a key already compares it with the loaded certificate.
                    let errors = OpenSSLErrorQueue.drain()
                    let mismatch = errors.contains {
                        $0.library == ERR_LIB_X509 && $0.reason == X509_R_KEY_VALUES_MISMATCH
                    }
                    let openSSL = OpenSSLErrorQueue.describe(errors)
                    problems.append(mismatch
                        ? .keyDoesNotMatchCertificate(certificatePath: chain, keyPath: key, openSSL: openSSL)
                        : .rejectedByOpenSSL(what: "private key", path: key, openSSL: openSSL))
                } else if SSL_CTX_check_private_key(pointer) != 1 {
                    problems.append(.keyDoesNotMatchCertificate(
                        certificatePath: chain, keyPath: key, openSSL: OpenSSLErrorQueue.drainDescription()))
                }
            }
        }
        if let ca = configuration.caBundlePath {
            if SSL_CTX_load_verify_locations(pointer, ca, nil) != 1 {
                problems.append(.rejectedByOpenSSL(what: "CA bundle", path: ca,
                                                   openSSL: OpenSSLErrorQueue.drainDescription()))
            } else if configuration.role == .server && configuration.clientAuthentication != .none {
                // Tell clients which CAs we accept (s_client prints them; clients with several
                // certificates pick by them).
                if let names = SSL_load_client_CA_file(ca) { SSL_CTX_set_client_CA_list(pointer, names) }
            }
        } else if configuration.role == .client {
            _ = SSL_CTX_set_default_verify_paths(pointer)
        }
        switch (configuration.role, configuration.clientAuthentication) {
        case (.client, _): SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
        case (.server, .none): SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
        case (.server, .optional): SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
        case (.server, .required):
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        if !problems.isEmpty { throw TLSConfigurationError(problems: problems) }
    }
}
