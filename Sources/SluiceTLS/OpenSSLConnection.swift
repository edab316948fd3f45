import COpenSSL
import NIOCore

/// One OpenSSL `SSL` whose BIO reads ciphertext from and writes ciphertext to ``BIOBuffers``
/// (``ByteBufferBIO``). It does no I/O itself; ``TLSHandler`` moves the buffers. Not
/// thread-safe: used only on its channel's event loop.
final class OpenSSLConnection {
    /// Invariant: non-null until `deinit`; owns the BIO (`SSL_set_bio`), which points at
    /// `buffers` unretained. `deinit` frees `ssl` before `buffers` is released.
    private let ssl: OpaquePointer
    private let buffers = BIOBuffers()
    /// The name the server's certificate was checked against, for error messages.
    let expectedServerName: String?

    enum HandshakeResult {
        case complete
        /// OpenSSL needs more bytes from the peer (after any output has been sent).
        case needsMoreData
        case failed(TLSError)
    }

    enum ReadResult {
        /// Everything available was decrypted; more needs more ciphertext.
        case needsMoreData
        /// The peer sent `close_notify`.
        case closeNotifyReceived
        case failed(TLSError)
    }

    init(context: SSLContextHandle, role: TLSConfiguration.Role, serverName: String?) throws(TLSError) {
        _ = OpenSSLErrorQueue.drain()
        guard let ssl = SSL_new(context.pointer) else {
            preconditionFailure("SSL_new failed: \(OpenSSLErrorQueue.drainDescription())")
        }
        self.ssl = ssl
        // One BIO for both directions; the SSL owns it from here and SSL_free frees it.
        let bio = ByteBufferBIO.make(buffers)
        SSL_set_bio(ssl, bio, bio)
        self.expectedServerName = serverName
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            guard let serverName else { throw .serverNameRequired }
            try expectServerName(serverName)
        }
    }

    deinit { SSL_free(ssl) }

    /// An IP address is checked against IP SANs only and not sent as SNI (RFC 6066 forbids
    /// literal addresses there); anything else is a DNS name, checked and sent as SNI.
    private func expectServerName(_ name: String) throws(TLSError) {
        let parameters = SSL_get0_param(ssl)
        if X509_VERIFY_PARAM_set1_ip_asc(parameters, name) == 1 { return }
        _ = OpenSSLErrorQueue.drain()
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        guard SSL_set1_host(ssl, name) == 1, sluice_SSL_set_tlsext_host_name(ssl, name) == 1 else {
            throw .handshakeFailed(openSSL: "cannot use server name \"\(name)\": "
                                   + OpenSSLErrorQueue.drainDescription())
        }
    }

    // MARK: moving ciphertext

    /// Hands ciphertext from the network to OpenSSL: the buffer itself when nothing is
    /// waiting (the usual case), else appended behind the partial record that is.
    func feed(_ buffer: ByteBuffer) {
        if buffers.inbound.readableBytes == 0 {
            buffers.inbound = buffer
        } else {
            buffers.inbound.discardReadBytes()
            var more = buffer
            buffers.inbound.writeBuffer(&more)
        }
    }

    /// Drops the reference to a fully consumed read buffer, so an idle connection does not keep
    /// its last one (up to the channel's largest read) alive.
    private func releaseConsumedInbound() {
        if buffers.inbound.readableBytes == 0 && buffers.inbound.capacity > 0 { buffers.inbound = ByteBuffer() }
    }

    /// Ciphertext OpenSSL produced for the network, or nil if there is none.
    func takeCiphertext() -> ByteBuffer? {
        guard buffers.outbound.readableBytes > 0 else { return nil }
        defer { buffers.outbound = ByteBuffer() }
        return buffers.outbound
    }

    // MARK: TLS operations

    func handshake() -> HandshakeResult {
        _ = OpenSSLErrorQueue.drain()
        let result = SSL_do_handshake(ssl)
        releaseConsumedInbound()
        if result == 1 { return .complete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsMoreData
        default: return .failed(classifyFailure(duringHandshake: true))
        }
    }

    /// Decrypts as much as is available, passing each chunk of plaintext to `deliver` (a chunk
    /// is at most `chunkBytesMax`, so one large inbound read does not make one huge buffer).
    func readPlaintext(allocator: ByteBufferAllocator, chunkBytesMax: Int,
                       deliver: (ByteBuffer) -> Void) -> ReadResult {
        _ = OpenSSLErrorQueue.drain()
        while true {
            let available = buffers.inbound.readableBytes + Int(SSL_pending(ssl))
            let capacity = min(max(available, 16 * 1024 + 256), chunkBytesMax)
            var chunk = allocator.buffer(capacity: capacity)
            var outcome: Int32 = 0 // SSL_ERROR_NONE until SSL_read stops returning data
            while chunk.writableBytes > 0 {
                var returned: Int32 = 0
                chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { bytes in
                    returned = SSL_read(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
                    return Int(max(0, returned))
                }
                if returned <= 0 {
                    outcome = SSL_get_error(ssl, returned)
                    break
                }
            }
            if chunk.readableBytes > 0 { deliver(chunk) }
            if chunk.writableBytes == 0 && outcome == 0 { continue } // chunk full: keep reading
            releaseConsumedInbound()
            switch outcome {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsMoreData
            case SSL_ERROR_ZERO_RETURN: return .closeNotifyReceived
            default: return .failed(classifyFailure(duringHandshake: false))
            }
        }
    }

    /// Encrypts all of `buffer` into the outbound buffer. The BIO never refuses a write, so
    /// `SSL_write` never waits for the network: it either takes everything or fails.
    func write(_ buffer: ByteBuffer) -> TLSError? {
        _ = OpenSSLErrorQueue.drain()
        // Room for every record's header, content type and tag, so records are written into
        // the outbound buffer without it growing (and copying) as they come.
        let records = buffer.readableBytes / Self.recordPlaintextBytesMax + 1
        let needed = buffer.readableBytes + records * Self.recordOverheadBytesMax
        if buffers.outbound.readableBytes == 0 {
            // Exactly sized (reserveCapacity would round up to a power of two).
            buffers.outbound = allocator.buffer(capacity: needed)
        } else {
            buffers.outbound.reserveCapacity(minimumWritableBytes: needed)
        }
        return buffer.withUnsafeReadableBytes { bytes -> TLSError? in
            var offset = 0
            while offset < bytes.count {
                let length = Int32(min(bytes.count - offset, Int(Int32.max)))
                let written = SSL_write(ssl, bytes.baseAddress! + offset, length)
                guard written > 0 else { return classifyFailure(duringHandshake: false) }
                offset += Int(written)
            }
            return nil
        }
    }

    static let recordPlaintextBytesMax = 16 * 1024
    /// TLS 1.3: 5-byte header, 1-byte inner content type, 16-byte AEAD tag; TLS 1.2 GCM: header,
    /// 8-byte explicit nonce, tag. 32 covers both.
    static let recordOverheadBytesMax = 32
    private let allocator = ByteBufferAllocator()

    /// Queues our `close_notify` in the outbound buffer.
    func shutdown() {
        _ = OpenSSLErrorQueue.drain()
        _ = SSL_shutdown(ssl)
        _ = OpenSSLErrorQueue.drain() // a shutdown that cannot complete is not an error to report
    }

    var sessionInfo: TLSSessionInfo {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }
            .map { String(cString: $0) } ?? "unknown"
        var subject: String?
        if let certificate = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(certificate) {
            subject = Self.rfc2253(name)
        }
        return TLSSessionInfo(protocolVersion: version, cipher: cipher, peerSubject: subject)
    }

    private static func rfc2253(_ name: OpaquePointer) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, sluice_XN_FLAG_RFC2253()) >= 0 else { return nil }
        let length = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: length)
        _ = BIO_read(bio, &bytes, Int32(length))
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: errors

    /// Turns OpenSSL's error queue and verify result into the error an operator can act on.
    private func classifyFailure(duringHandshake: Bool) -> TLSError {
        let entries = OpenSSLErrorQueue.drain()
        let openSSL = OpenSSLErrorQueue.describe(entries)
        guard let ssl = entries.first(where: \.isSSLLibrary) else {
            return duringHandshake ? .handshakeFailed(openSSL: openSSL) : .protocolError(openSSL: openSSL)
        }
        switch ssl.reason {
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            return verificationFailure()
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return .clientCertificateRequired
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW:
            return .protocolVersionTooOld(openSSL: openSSL)
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST,
             SSL_R_PACKET_LENGTH_TOO_LONG:
            return .notTLS(firstBytes: [])
        case SSL_AD_REASON_OFFSET..<(SSL_AD_REASON_OFFSET + 256):
            return .alertReceived(alert: ssl.reasonText)
        default:
            return duringHandshake ? .handshakeFailed(openSSL: openSSL) : .protocolError(openSSL: openSSL)
        }
    }

    private func verificationFailure() -> TLSError {
        let code = Int32(SSL_get_verify_result(ssl))
        let result = String(cString: X509_verify_cert_error_string(Int(code)))
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return .certificateExpired(verifyResult: result)
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            return .hostnameMismatch(expected: expectedServerName ?? "?", verifyResult: result)
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return .untrustedCertificate(verifyCode: code, verifyResult: result)
        default:
            return .certificateRejected(verifyCode: code, verifyResult: result)
        }
    }
}
