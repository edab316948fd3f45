import NIOCore
import NIOEmbedded
import SluiceTLS
import Testing

@Suite("TLS data transfer and close")
struct TLSDataTransferTests {
    static let sizes = [1, 2, 3, 100, 16383, 16384, 16385, 65536, 1 << 20]

    @Test(arguments: sizes)
    func plaintextOfEverySizeArrivesIntactInBothDirections(_ size: Int) throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        #expect(try pair.send(patternBytes(size, seed: 3), fromClient: true) == patternBytes(size, seed: 3))
        #expect(try pair.send(patternBytes(size, seed: 5), fromClient: false) == patternBytes(size, seed: 5))
    }

    @Test(arguments: sizes)
    func recordsSplitAcrossReadsAreReassembled(_ size: Int) throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        // Awkward piece sizes: one byte, a record header and a bit, just under and over a record.
        let pieces = [1, 6, 517, 5, 16_400, 16_379, 3]
        #expect(try pair.send(patternBytes(size, seed: 7), fromClient: true, pieceSizes: pieces)
                == patternBytes(size, seed: 7))
        #expect(try pair.send(patternBytes(size, seed: 9), fromClient: false, pieceSizes: pieces)
                == patternBytes(size, seed: 9))
    }

    @Test func manyWritesBeforeOneFlushArriveOnlyAfterTheFlushAndInOrder() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        var expected = ByteBuffer()
        for size in [1, 2, 3, 100, 16385] {
            var piece = patternBytes(size, seed: UInt8(size % 256))
            pair.client.write(piece, promise: nil)
            expected.writeBuffer(&piece)
        }
        #expect(try pair.client.readOutbound(as: ByteBuffer.self) == nil, "nothing is sent before the flush")
        pair.client.flush()
        try pair.shuttle()
        #expect(pair.serverRecorder.received == expected)
    }

    @Test func ciphertextDiffersFromPlaintext() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        let secret = ByteBuffer(string: "a secret that must not appear on the wire")
        pair.client.writeAndFlush(secret, promise: nil)
        let wire = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(wire.getInteger(at: 0, as: UInt8.self) == 23, "an application_data record")
        #expect(!String(buffer: wire).contains("secret"))
    }

    @Test func closeSendsCloseNotifyAndBothSidesCloseCleanly() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        let closed = pair.client.close()
        let closeNotify = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        // TLS 1.3 hides the alert inside an application_data record: header, 2-byte alert,
        // inner content type, 16-byte AEAD tag.
        #expect(closeNotify.getInteger(at: 0, as: UInt8.self) == 23)
        #expect(closeNotify.readableBytes == 5 + 2 + 1 + 16)
        #expect(pair.client.isActive, "the client waits for the server's close_notify")
        try pair.server.writeInbound(closeNotify)
        #expect(!pair.server.isActive, "the server answered and closed")
        try pair.shuttle()
        try closed.wait()
        #expect(!pair.client.isActive)
        #expect(pair.clientRecorder.errors.isEmpty, "\(pair.clientRecorder.errors)")
        #expect(pair.serverRecorder.errors.isEmpty, "no unclean shutdown reported: \(pair.serverRecorder.errors)")
    }

    @Test func closeGivesUpWaitingForThePeersCloseNotifyAfterTheWaitLimit() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        let closed = pair.client.close()
        (pair.client.eventLoop as! EmbeddedEventLoop).advanceTime(by: .seconds(4))
        #expect(pair.client.isActive)
        (pair.client.eventLoop as! EmbeddedEventLoop).advanceTime(by: .seconds(1))
        #expect(!pair.client.isActive)
        try closed.wait()
    }

    @Test func writesAfterCloseBeganFail() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        pair.client.close(promise: nil)
        #expect(throws: TLSError.connectionClosed) { try pair.client.writeAndFlush(patternBytes(5)).wait() }
    }

    @Test func connectionLostWithoutCloseNotifyIsReportedAsUncleanShutdown() throws {
        let pair = try EmbeddedTLSPair(client: .client(), server: .server())
        try pair.connect()
        // Closing the server's channel below its TLS handler: the TCP connection just ends.
        pair.server.pipeline.fireChannelInactive()
        #expect(pair.serverRecorder.tlsErrors == [.uncleanShutdown])
    }
}
