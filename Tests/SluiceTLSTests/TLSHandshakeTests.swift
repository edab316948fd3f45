import NIOCore
import NIOEmbedded
import SluiceTLS
import Testing

@Suite("TLS handshake and session")
struct TLSHandshakeTests {
    @Test func clientAndServerCompleteHandshakeWithTLS13AndReportTheSession() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        let client = try #require(pair.clientRecorder.sessionInfo)
        let server = try #require(pair.serverRecorder.sessionInfo)
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(client.cipher == server.cipher)
        #expect(client.peerSubject == "CN=node1,O=Sluice")
        #expect(server.peerSubject == nil, "no client certificate was asked for")
        #expect(pair.clientRecorder.errors.isEmpty && pair.serverRecorder.errors.isEmpty)
    }

    @Test func handshakeSurvivesCiphertextArrivingOneByteAtATime() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect(pieceSizes: [1])
        #expect(pair.handshakeCompletedOnBothSides)
    }

    @Test(arguments: ["localhost", "node1", "127.0.0.1", "127.0.0.9"])
    func serverNameMatchesDNSOrIPSubjectAlternativeName(_ name: String) throws {
        let pair = try EmbeddedTLSPair(client: .client(serverName: name), server: .server())
        try pair.connect()
        #expect(pair.handshakeCompletedOnBothSides)
        #expect(pair.clientRecorder.errors.isEmpty)
    }

    @Test func optionalClientAuthenticationAcceptsClientsWithAndWithoutCertificates() throws {
        let anonymous = try EmbeddedTLSPair(client: .client(), server: .server(clientAuthentication: .optional))
        try anonymous.connect()
        #expect(anonymous.serverRecorder.sessionInfo?.peerSubject == nil)
        #expect(anonymous.handshakeCompletedOnBothSides)

        let authenticated = try EmbeddedTLSPair(
            client: .client(certificate: "client"), server: .server(clientAuthentication: .optional))
        try authenticated.connect()
        #expect(authenticated.serverRecorder.sessionInfo?.peerSubject == "CN=client,O=Sluice")
    }

    @Test func requiredClientAuthenticationAcceptsAClientCertificateFromTheClusterCA() throws {
        let pair = try EmbeddedTLSPair(client: .client(certificate: "client"),
                                       server: .server(clientAuthentication: .required))
        try pair.connect()
        #expect(pair.serverRecorder.sessionInfo?.peerSubject == "CN=client,O=Sluice")
        let echoed = try pair.send(patternBytes(100), fromClient: true)
        #expect(echoed == patternBytes(100))
    }

    @Test func writesMadeBeforeTheHandshakeAreDeliveredAfterItInOrder() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 9093)
        try pair.server.connect(to: address).wait()
        try pair.client.connect(to: address).wait()
        let first = pair.client.write(patternBytes(10, seed: 1))
        let second = pair.client.writeAndFlush(patternBytes(20_000, seed: 2))
        let hello = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(hello.getInteger(at: 0, as: UInt8.self) == 22,
                "only the ClientHello (a handshake record) goes out before the handshake")
        #expect(try pair.client.readOutbound(as: ByteBuffer.self) == nil)
        try pair.server.writeInbound(hello)
        try pair.shuttle()
        try first.wait()
        try second.wait()
        var expected = patternBytes(10, seed: 1)
        var tail = patternBytes(20_000, seed: 2)
        expected.writeBuffer(&tail)
        #expect(pair.serverRecorder.received == expected)
    }

    @Test func writesBeyondThePendingLimitBeforeTheHandshakeFail() throws {
        var configuration = TLSConfiguration.client(caBundlePath: fixtures.caPath, serverName: "localhost")
        configuration.pendingPlaintextBytesMax = 1000
        let pair = try EmbeddedTLSPair(client: TLSContext(configuration: configuration), server: .server())
        try pair.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9093)).wait()
        let fits = pair.client.write(patternBytes(1000))
        let overflows = pair.client.write(patternBytes(1))
        #expect(throws: TLSError.pendingPlaintextLimitExceeded(limitBytes: 1000)) { try overflows.wait() }
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9093)).wait()
        pair.client.flush()
        try pair.shuttle()
        try fits.wait()
        #expect(pair.serverRecorder.received.readableBytes == 1000)
    }

    @Test func clientWithoutAServerNameIsRefused() throws {
        let context = try TLSContext.client(serverName: nil)
        #expect(throws: TLSError.serverNameRequired) { _ = try TLSClientHandler(context: context) }
    }
}
