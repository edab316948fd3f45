/// Why a TLS connection failed, in terms an operator can act on. Each case's description names
/// what failed and carries OpenSSL's own words (its verify result string or error queue).
public enum TLSError: Error, Equatable, CustomStringConvertible {
    /// The peer's chain does not lead to a CA in our bundle (unknown CA, self-signed, missing
    /// intermediate). `verifyResult` is `X509_verify_cert_error_string` for `verifyCode`.
    case untrustedCertificate(verifyCode: Int32, verifyResult: String)
    /// The peer's certificate (or one in its chain) is past its notAfter date.
    case certificateExpired(verifyResult: String)
    /// The server's certificate does not carry the name we connected to as a DNS or IP SAN.
    case hostnameMismatch(expected: String, verifyResult: String)
    /// Any other verification failure (not yet valid, wrong key usage, revoked, …).
    case certificateRejected(verifyCode: Int32, verifyResult: String)
    /// Server side: the client sent no certificate but client authentication is required.
    case clientCertificateRequired
    /// The first bytes on a TLS port were not a TLS handshake record (a plaintext Kafka
    /// client, an HTTP request, …). `firstBytes` is a short prefix to recognise it by.
    case notTLS(firstBytes: [UInt8])
    /// The peer offered or accepted only protocol versions below TLS 1.2.
    case protocolVersionTooOld(openSSL: String)
    /// The peer ended the handshake with a fatal alert, e.g. "tlsv1 alert unknown ca" when it
    /// rejected our certificate, or "tlsv13 alert certificate required".
    case alertReceived(alert: String)
    /// Any other OpenSSL failure; `openSSL` is its error queue, one entry per error.
    case handshakeFailed(openSSL: String)
    /// A failure after the handshake (bad record MAC, decryption failure, …).
    case protocolError(openSSL: String)
    /// The TCP connection ended without the peer's `close_notify`, so the data may have been
    /// truncated. Kafka frames are length-prefixed, so a truncated frame is detected anyway;
    /// this is reported so a dying peer is visible, not because data was lost.
    case uncleanShutdown
    /// More plaintext was written before the handshake finished than
    /// ``TLSConfiguration/pendingPlaintextBytesMax`` allows.
    case pendingPlaintextLimitExceeded(limitBytes: Int)
    /// A client needs a name to verify the server against and none was configured.
    case serverNameRequired
    /// A write arrived after close had begun, or after the connection failed.
    case connectionClosed

    public var description: String {
        switch self {
        case let .untrustedCertificate(code, result):
            "peer certificate is not trusted: its chain does not lead to a configured CA (OpenSSL verify error \(code): \(result))"
        case let .certificateExpired(result):
            "peer certificate has expired (OpenSSL: \(result))"
        case let .hostnameMismatch(expected, result):
            "server certificate does not match the name \"\(expected)\" (OpenSSL: \(result))"
        case let .certificateRejected(code, result):
            "peer certificate was rejected (OpenSSL verify error \(code): \(result))"
        case .clientCertificateRequired:
            "client did not present a certificate and this listener requires one (mutual TLS)"
        case let .notTLS(bytes):
            "peer sent non-TLS bytes on a TLS port (starts with \(Self.describe(bytes))); is it a plaintext client?"
        case let .protocolVersionTooOld(openSSL):
            "peer supports only TLS versions older than 1.2 (OpenSSL: \(openSSL))"
        case let .alertReceived(alert):
            "peer aborted the handshake with alert: \(alert)"
        case let .handshakeFailed(openSSL):
            "TLS handshake failed (OpenSSL: \(openSSL))"
        case let .protocolError(openSSL):
            "TLS connection failed (OpenSSL: \(openSSL))"
        case .uncleanShutdown:
            "peer closed the connection without a TLS close_notify"
        case let .pendingPlaintextLimitExceeded(limit):
            "more than \(limit) bytes written before the TLS handshake finished"
        case .serverNameRequired:
            "a TLS client needs a server name (DNS name or IP) to verify the server's certificate"
        case .connectionClosed:
            "the TLS connection is closed"
        }
    }

    /// Printable ASCII as text, anything else as hex: "GET / HTTP" or "00 00 00 2a".
    private static func describe(_ bytes: [UInt8]) -> String {
        let printable = bytes.allSatisfy { (0x20..<0x7f).contains($0) }
        if printable { return "\"" + String(decoding: bytes, as: UTF8.self) + "\"" }
        let hex = bytes.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return hex.joined(separator: " ")
    }
}

/// Events ``TLSHandler`` sends up the pipeline as user inbound events.
public enum TLSEvent: Equatable, Sendable {
    /// The handshake finished; application data may flow.
    case handshakeCompleted(TLSSessionInfo)
}

/// What was negotiated, for logs and for authorising a mutual-TLS client by its subject.
public struct TLSSessionInfo: Equatable, Sendable {
    /// "TLSv1.3" or "TLSv1.2".
    public var protocolVersion: String
    /// OpenSSL's name for the cipher, e.g. "TLS_AES_256_GCM_SHA384".
    public var cipher: String
    /// The verified peer certificate's subject in RFC 2253 form, or nil if it sent none.
    public var peerSubject: String?
}
