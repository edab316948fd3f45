import NIOCore
import NIOEmbedded
import SluiceTLS
import Testing

/// Each way a connection can be refused fails with its own error, on the side that refused,
/// and the description carries OpenSSL's reason.
@Suite("TLS failures say what failed")
struct TLSFailureTests {
    @Test func serverCertificateFromAnUnknownCAIsRejectedAsUntrusted() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server("node1", in: fixtures.otherCluster))
        try pair.connect()
        #expect(pair.clientRecorder.tlsErrors == [.untrustedCertificate(
            verifyCode: 20, verifyResult: "unable to get local issuer certificate")])
        #expect(pair.serverRecorder.tlsErrors == [.alertReceived(alert: "tlsv1 alert unknown ca")],
                "the client's alert tells the server why")
        #expect(!pair.client.isActive && !pair.server.isActive)
        let description = try #require(pair.clientRecorder.tlsErrors.first).description
        #expect(description.contains("not trusted") && description.contains("unable to get local issuer certificate"))
    }

    @Test func expiredServerCertificateIsRejectedAsExpired() throws {
        let server = try TLSContext(configuration: .server(
            certificateChainPath: fixtures.expiredCertificate, privateKeyPath: fixtures.expiredKey))
        let pair = try EmbeddedTLSPair(client: .client(), server: server)
        try pair.connect()
        #expect(pair.clientRecorder.tlsErrors == [.certificateExpired(verifyResult: "certificate has expired")])
        #expect(pair.serverRecorder.tlsErrors == [.alertReceived(alert: "sslv3 alert certificate expired")])
        #expect(pair.clientRecorder.tlsErrors.first?.description.contains("expired") == true)
    }

    @Test(arguments: [("node2", "hostname mismatch"), ("kafka.example.com", "hostname mismatch"),
                      ("127.0.0.10", "IP address mismatch"), ("::1", "IP address mismatch")])
    func serverNameNotInTheCertificateIsAHostnameMismatch(_ name: String, _ verifyResult: String) throws {
        let pair = try EmbeddedTLSPair(client: .client(serverName: name), server: .server("node1"))
        try pair.connect()
        #expect(pair.clientRecorder.tlsErrors == [.hostnameMismatch(expected: name, verifyResult: verifyResult)])
        #expect(pair.clientRecorder.sessionInfo == nil)
    }

    @Test func clientWithoutACertificateIsRefusedWhenClientAuthenticationIsRequired() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server(clientAuthentication: .required))
        try pair.connect()
        #expect(pair.serverRecorder.tlsErrors == [.clientCertificateRequired])
        #expect(pair.serverRecorder.sessionInfo == nil)
        // In TLS 1.3 the client finishes first and learns of the refusal from the server's alert.
        #expect(pair.clientRecorder.tlsErrors == [.alertReceived(alert: "tlsv13 alert certificate required")])
        #expect(!pair.server.isActive && !pair.client.isActive)
    }

    @Test func clientCertificateFromAnUnknownCAIsRejectedByTheServer() throws {
        let pair = try EmbeddedTLSPair(client: .client(certificate: "client", in: fixtures.otherCluster),
                                       server: .server(clientAuthentication: .required))
        try pair.connect()
        #expect(pair.serverRecorder.tlsErrors == [.untrustedCertificate(
            verifyCode: 20, verifyResult: "unable to get local issuer certificate")])
    }

    @Test(arguments: [
        // A Kafka ApiVersions request: 4-byte length, then api key 18.
        [0x00, 0x00, 0x00, 0x2a, 0x00, 0x12, 0x00, 0x03] as [UInt8],
        Array("GET / HTTP/1.1\r\n".utf8),
        [0x16, 0x01] as [UInt8], // right content type, wrong major version
    ])
    func plaintextBytesOnATLSPortAreRejectedAsNotTLS(_ bytes: [UInt8]) throws {
        let server = EmbeddedChannel()
        let recorder = PipelineRecorder()
        try server.pipeline.syncOperations.addHandlers(TLSServerHandler(context: .server()), recorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9093)).wait()
        try server.writeInbound(ByteBuffer(bytes: bytes))
        #expect(recorder.tlsErrors == [.notTLS(firstBytes: bytes)])
        #expect(!server.isActive)
        #expect(try server.readOutbound(as: ByteBuffer.self) == nil, "no alert for a peer that is not TLS")
    }

    @Test func notTLSDescriptionShowsTheFirstBytesReadably() {
        #expect(TLSError.notTLS(firstBytes: Array("GET / HTTP".utf8)).description.contains("\"GET / HTTP\""))
        #expect(TLSError.notTLS(firstBytes: [0, 0, 0, 0x2a]).description.contains("00 00 00 2a"))
    }

    @Test func plaintextServerIsRejectedByTheClientAsNotTLS() throws {
        let client = EmbeddedChannel()
        let recorder = PipelineRecorder()
        try client.pipeline.syncOperations.addHandlers(TLSClientHandler(context: .client()), recorder)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        try client.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x06, 0x00, 0x00]))
        #expect(recorder.tlsErrors == [.notTLS(firstBytes: [0x00, 0x00, 0x00, 0x06, 0x00, 0x00])])
    }

    @Test func clientOfferingOnlyTLS11IsRefusedAsProtocolVersionTooOld() throws {
        let server = EmbeddedChannel()
        let recorder = PipelineRecorder()
        try server.pipeline.syncOperations.addHandlers(TLSServerHandler(context: .server()), recorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9093)).wait()
        try server.writeInbound(Self.tls11ClientHello())
        let error = try #require(recorder.tlsErrors.first)
        guard case .protocolVersionTooOld(let openSSL) = error else {
            Issue.record("expected protocolVersionTooOld, got \(error)")
            return
        }
        #expect(openSSL.contains("unsupported protocol"))
        let alert = try #require(try server.readOutbound(as: ByteBuffer.self))
        #expect(alert.getBytes(at: 0, length: 1) == [21], "the client is told with a protocol_version alert")
        #expect(alert.getInteger(at: 6, as: UInt8.self) == 70, "alert description protocol_version")
        #expect(!server.isActive)
    }

    /// A minimal ClientHello as a TLS 1.1-only client sends it: version 3.2, no
    /// supported_versions extension, two TLS 1.0-era cipher suites.
    static func tls11ClientHello() -> ByteBuffer {
        var body: [UInt8] = [0x03, 0x02] + Array(repeating: 0x42, count: 32) // version, random
        body += [0x00]                                                         // no session id
        body += [0x00, 0x04, 0xc0, 0x14, 0x00, 0x35]                           // cipher suites
        body += [0x01, 0x00]                                                   // null compression
        let handshake: [UInt8] = [0x01, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        let record: [UInt8] = [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xff)]
        return ByteBuffer(bytes: record + handshake)
    }
}
