import Foundation
import NIOCore
import NIOPosix
import SluiceTLS
import Synchronization
import Testing

/// Our handlers over real sockets against peers we did not write: `openssl s_client` and
/// `openssl s_server`.
@Suite("TLS against the openssl command")
struct TLSOpenSSLInteropTests {
    @Test func opensslClientVerifiesOurServerAndGetsItsBytesEchoedThenCloseNotify() throws {
        try withEchoServer(.server()) { port, log in
            let output = try sClient(port: port, input: "ping-sluice")
            #expect(output.contains("Verification: OK"), "\(output)")
            #expect(output.contains("Verified peername: localhost"))
            #expect(output.contains("ping-sluice"), "the echo came back: \(output)")
            #expect(try log.waitFor { $0.handshakes == 1 && $0.closed == 1 })
            #expect(log.snapshot.errors.isEmpty, "close_notify both ways, nothing unclean: \(log.snapshot.errors)")
        }
    }

    @Test func requiredMutualTLSRefusesOpensslClientWithoutCertificateAndServesTheNextOne() throws {
        try withEchoServer(.server(clientAuthentication: .required)) { port, log in
            let refused = try sClient(port: port, input: "no-cert", allowFailure: true)
            #expect(!refused.contains("no-cert\n"), "nothing was echoed to the refused client")
            #expect(refused.contains("certificate required"), "s_client heard why: \(refused)")
            #expect(try log.waitFor { $0.errors.count == 1 })
            #expect(log.snapshot.errors == [.clientCertificateRequired])

            let accepted = try sClient(port: port, input: "with-cert",
                                       extraArguments: "-cert \(fixtures.certificate("client")) -key \(fixtures.key("client"))")
            #expect(accepted.contains("with-cert"), "\(accepted)")
            #expect(try log.waitFor { $0.handshakes == 1 })
            #expect(log.snapshot.peerSubjects == ["CN=client,O=Sluice"])
        }
    }

    @Test func opensslTLS12ClientGetsAForwardSecretAEADSuite() throws {
        try withEchoServer(.server()) { port, log in
            let output = try sClient(port: port, input: "tls12", extraArguments: "-tls1_2")
            #expect(output.contains("Protocol version: TLSv1.2"), "\(output)")
            #expect(output.contains("Ciphersuite: ECDHE-ECDSA-AES256-GCM-SHA384")
                    || output.contains("Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305")
                    || output.contains("Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256"), "\(output)")
            #expect(output.contains("tls12"))
        }
    }

    @Test func opensslTLS12ClientOfferingOnlyCBCOrStaticRSASuitesIsRefused() throws {
        try withEchoServer(.server()) { port, log in
            let output = try sClient(port: port, input: "cbc", allowFailure: true,
                                     extraArguments: "-tls1_2 -cipher 'AES128-SHA:ECDHE-ECDSA-AES128-SHA'")
            #expect(!output.contains("CONNECTION ESTABLISHED"), "\(output)")
            #expect(try log.waitFor { !$0.errors.isEmpty })
            guard case .handshakeFailed(let openSSL)? = log.snapshot.errors.first else {
                Issue.record("expected handshakeFailed, got \(log.snapshot.errors)")
                return
            }
            #expect(openSSL.contains("no shared cipher"), "\(openSSL)")
        }
    }

    @Test func opensslClientOfferingOnlyTLS11IsRefusedAsProtocolVersionTooOld() throws {
        try withEchoServer(.server()) { port, log in
            // SECLEVEL=0 lets this OpenSSL build offer TLS 1.1 at all.
            let output = try sClient(port: port, input: "old", allowFailure: true,
                                     extraArguments: "-tls1_1 -cipher DEFAULT@SECLEVEL=0")
            #expect(output.contains("alert protocol version") || output.contains("unsupported protocol"), "\(output)")
            #expect(try log.waitFor { !$0.errors.isEmpty })
            guard case .protocolVersionTooOld? = log.snapshot.errors.first else {
                Issue.record("expected protocolVersionTooOld, got \(log.snapshot.errors)")
                return
            }
        }
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func ourClientVerifiesOpensslServerWithMutualTLSAndExchangesData(_ serverName: String) throws {
        let server = try OpenSSLServer(arguments: [
            "-cert", fixtures.certificate("node1"), "-key", fixtures.key("node1"),
            "-Verify", "1", "-CAfile", fixtures.caPath, "-rev", "-naccept", "1",
        ])
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let log = ConnectionLog()
        let context = try TLSContext.client(serverName: serverName, certificate: "client")
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TLSClientHandler(context: context), ConnectionRecorder(log: log, echo: false))
                }
            }
            .connect(host: "127.0.0.1", port: try server.port()).wait()
        try channel.writeAndFlush(ByteBuffer(string: "hello sluice\n")).wait()
        #expect(try log.waitFor { $0.received.contains("eciuls olleh") }, "s_server -rev answered: \(log.snapshot)")
        #expect(log.snapshot.peerSubjects == ["CN=node1,O=Sluice"])
        try channel.close().wait()
        #expect(log.snapshot.errors.isEmpty, "\(log.snapshot.errors)")
        // s_server prints its verification of our certificate on its own schedule; wait for it.
        #expect(server.waitForOutput(containing: "depth=0 O = Sluice, CN = client"),
                "s_server verified our client certificate: \(server.output)")
    }

    @Test func ourClientRefusesOpensslServerWithACertificateFromAnotherCA() throws {
        let server = try OpenSSLServer(arguments: [
            "-cert", fixtures.certificate("node1", in: fixtures.otherCluster),
            "-key", fixtures.key("node1", in: fixtures.otherCluster), "-naccept", "1",
            "-rev", // without it s_server reads its (empty) stdin and hangs up at once
        ])
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let log = ConnectionLog()
        let context = try TLSContext.client()
        _ = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TLSClientHandler(context: context), ConnectionRecorder(log: log, echo: false))
                }
            }
            .connect(host: "127.0.0.1", port: try server.port()).wait()
        #expect(try log.waitFor { !$0.errors.isEmpty && $0.closed == 1 })
        #expect(log.snapshot.errors == [.untrustedCertificate(verifyCode: 20,
                                                              verifyResult: "unable to get local issuer certificate")])
    }

    // MARK: helpers

    /// Runs an echo server with `context` on an ephemeral port of 127.0.0.1 for `body`.
    private func withEchoServer(_ context: TLSContext,
                                _ body: (_ port: Int, _ log: ConnectionLog) throws -> Void) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let log = ConnectionLog()
        let server = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TLSServerHandler(context: context), ConnectionRecorder(log: log, echo: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        try body(server.localAddress!.port!, log)
    }

    /// `openssl s_client` sends `input` and a newline; our echo server echoes it and then
    /// closes, so s_client exits on our close_notify rather than on a timer.
    private func sClient(port: Int, input: String, allowFailure: Bool = false,
                         extraArguments: String = "") throws -> String {
        let script = """
            printf '%s\\n' '\(input)' | timeout 20 openssl s_client -connect 127.0.0.1:\(port) \
            -CAfile '\(fixtures.caPath)' -verify_return_error -verify_hostname localhost \
            -servername localhost -brief -ign_eof \(extraArguments) 2>&1
            """
        do {
            return try shell(script)
        } catch let error as ShellError where allowFailure {
            return error.output
        }
    }
}

/// What the connections of one test did, shared between the event loop and the test.
final class ConnectionLog: Sendable {
    struct Snapshot: Sendable {
        var handshakes = 0
        var closed = 0
        var errors: [TLSError] = []
        var peerSubjects: [String] = []
        var received = ""
    }

    private let state = Mutex(Snapshot())
    var snapshot: Snapshot { state.withLock { $0 } }
    func update(_ change: (inout Snapshot) -> Void) { state.withLock { change(&$0) } }

    /// Polls until `condition` holds or 10 s pass; returns whether it held.
    func waitFor(_ condition: (Snapshot) -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition(snapshot) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition(snapshot)
    }
}

/// Records into a ``ConnectionLog``; as an echo server, writes back what it reads and closes
/// after the first newline.
final class ConnectionRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let log: ConnectionLog
    let echo: Bool

    init(log: ConnectionLog, echo: Bool) {
        self.log = log
        self.echo = echo
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        log.update { $0.received += String(buffer: bytes) }
        guard echo else { return }
        context.write(data, promise: nil)
        if bytes.readableBytesView.contains(UInt8(ascii: "\n")) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { if echo { context.flush() } }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError { log.update { $0.errors.append(error) } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let info)? = event as? TLSEvent {
            log.update {
                $0.handshakes += 1
                if let subject = info.peerSubject { $0.peerSubjects.append(subject) }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) { log.update { $0.closed += 1 } }
}

/// `openssl s_server` on an ephemeral port of 127.0.0.1, stopped (by its process id) at the end.
final class OpenSSLServer: Sendable {
    private let process: Process
    private let collected = CollectedText()

    init(arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:0"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collected = self.collected
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.append(String(decoding: data, as: UTF8.self))
        }
        try process.run()
        self.process = process
    }

    var output: String { collected.text }

    /// Polls until s_server has printed `text` or 10 s pass; returns whether it did.
    func waitForOutput(containing text: String) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return output.contains(text)
    }

    /// The port from s_server's "ACCEPT 127.0.0.1:PORT" line.
    func port() throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw ShellError(script: "openssl s_server", status: -1, output: output)
    }

    /// SIGKILL, not `terminate()`: a child started from a concurrency-pool thread inherits its
    /// signal mask, in which SIGTERM is blocked.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Text appended from a pipe's reading thread and read from the test's.
final class CollectedText: Sendable {
    private let state = Mutex("")
    var text: String { state.withLock { $0 } }
    func append(_ more: String) { state.withLock { $0 += more } }
}
