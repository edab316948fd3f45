import NIOCore
import NIOEmbedded
@testable import SluiceBroker
@testable import SluiceTLS
import Testing

/// The listener handlers count what crosses a connection: its life, its bytes, and its TLS
/// handshake once, whichever way the handshake ends.
@Suite struct ListenerMetricsTests {
    func page(_ metrics: NodeMetrics) -> [String: Double] { NodeMetricsTests.parse(metrics.renderCounters()).samples }

    func pipeline(_ metrics: NodeMetrics, _ listener: NodeMetrics.Listener) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ConnectionMetricsHandler(metrics: metrics, listener: listener))
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeCounter(metrics: metrics, listener: listener))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        return channel
    }

    @Test func aConnectionCountsItsBytesAndOneFailedHandshake() throws {
        let metrics = NodeMetrics()
        let channel = try pipeline(metrics, .client)
        try channel.writeInbound(ByteBuffer(bytes: [1, 2, 3, 4, 5]))
        try channel.writeInbound(ByteBuffer(bytes: [6, 7]))
        try channel.writeOutbound(ByteBuffer(bytes: [1, 2, 3]))
        var open = page(metrics)
        #expect(open[#"sluice_connections_open{listener="client"}"#] == 1)
        #expect(open[#"sluice_connections_accepted_total{listener="client"}"#] == 1)
        #expect(open[#"sluice_network_received_bytes_total{listener="client"}"#] == 7)
        #expect(open[#"sluice_network_sent_bytes_total{listener="client"}"#] == 3)
        #expect(open[#"sluice_tls_handshakes_total{listener="client"}"#] == 0)
        channel.pipeline.fireErrorCaught(TLSError.handshakeFailed(openSSL: "test"))
        #expect(throws: TLSError.self) { try channel.throwIfErrorCaught() }
        _ = try channel.finish()
        open = page(metrics)
        #expect(open[#"sluice_connections_open{listener="client"}"#] == 0)
        // The error and the close after it are one failed handshake.
        #expect(open[#"sluice_tls_handshakes_total{listener="client"}"#] == 1)
        #expect(open[#"sluice_tls_handshake_failures_total{listener="client"}"#] == 1)
        #expect(open[#"sluice_connections_open{listener="inter_node"}"#] == 0)
    }

    @Test func aCompletedHandshakeIsNotAFailureWhenTheConnectionLaterCloses() throws {
        let metrics = NodeMetrics()
        let channel = try pipeline(metrics, .interNode)
        channel.pipeline.fireUserInboundEventTriggered(
            TLSEvent.handshakeCompleted(TLSSessionInfo(protocolVersion: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", peerSubject: nil)))
        _ = try channel.finish()
        let closed = page(metrics)
        #expect(closed[#"sluice_tls_handshakes_total{listener="inter_node"}"#] == 1)
        #expect(closed[#"sluice_tls_handshake_failures_total{listener="inter_node"}"#] == 0)
        #expect(closed[#"sluice_connections_accepted_total{listener="inter_node"}"#] == 1)
        #expect(closed[#"sluice_connections_open{listener="inter_node"}"#] == 0)
    }

    @Test func aConnectionClosedBeforeItsHandshakeIsAFailure() throws {
        let metrics = NodeMetrics()
        let channel = try pipeline(metrics, .client)
        _ = try channel.finish()
        #expect(page(metrics)[#"sluice_tls_handshake_failures_total{listener="client"}"#] == 1)
    }
}
