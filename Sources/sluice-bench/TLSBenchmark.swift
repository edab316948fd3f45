import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import SluiceTLS
import Synchronization

/// Bulk transfer over one loopback TCP connection through `TLSClientHandler` and
/// `TLSServerHandler`, in 1 MiB writes, beside the same transfer in plaintext (the reference the
/// ratio is taken to) and beside `openssl speed` for the raw cipher. Sender and receiver each
/// have an event loop thread of their own, so on two cores encryption and decryption overlap.
enum TLSBenchmark: BenchmarkSuite {
    static let name = "tls"
    static let summary = "TLS vs plaintext bulk transfer over loopback TCP (1 MiB writes), and openssl speed"

    static let writeBytes = 1 << 20
    static let roundBytes = 512 << 20
    static let rounds = 3

    static func run(_ report: inout BenchmarkReport) async throws {
        let certificates = try makeCertificates()
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await measure(&report, certificates: certificates,
                              serverGroup: serverGroup, clientGroup: clientGroup)
        } catch {
            try? await serverGroup.shutdownGracefully()
            try? await clientGroup.shutdownGracefully()
            throw error
        }
        try await serverGroup.shutdownGracefully()
        try await clientGroup.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: certificates)
    }

    private static func measure(_ report: inout BenchmarkReport, certificates: String,
                                serverGroup: EventLoopGroup, clientGroup: EventLoopGroup) async throws {
        let serverContext = try TLSContext(configuration: .server(
            certificateChainPath: certificates + "/node1.crt", privateKeyPath: certificates + "/node1.key"))
        let clientContext = try TLSContext(configuration: .client(
            caBundlePath: certificates + "/ca.crt", serverName: "127.0.0.1"))

        let plaintext = try await Link.open(tls: nil, serverGroup: serverGroup, clientGroup: clientGroup)
        let tls = try await Link.open(tls: (serverContext, clientContext),
                                      serverGroup: serverGroup, clientGroup: clientGroup)
        // Warm up both (allocator, TCP window, CPU frequency), then alternate so drift from the
        // other engineers' load on the shared cores hits both alike; keep the best round of each.
        _ = try await plaintext.transfer(bytes: 64 << 20)
        _ = try await tls.transfer(bytes: 64 << 20)
        var plaintextBest = 0.0, tlsBest = 0.0
        var plaintextCPU = Double.infinity, tlsCPU = Double.infinity
        for _ in 0..<rounds {
            let p = try await plaintext.transfer(bytes: roundBytes)
            let t = try await tls.transfer(bytes: roundBytes)
            plaintextBest = max(plaintextBest, p.megabytesPerSecond)
            tlsBest = max(tlsBest, t.megabytesPerSecond)
            plaintextCPU = min(plaintextCPU, p.cpuNanosecondsPerByte)
            tlsCPU = min(tlsCPU, t.cpuNanosecondsPerByte)
        }
        try await plaintext.close()
        try await tls.close()

        let cipher = tls.cipher ?? "?"
        report.add("plaintext TCP, 1 MiB writes", plaintextBest, "MB/s")
        report.add("TLS \(tls.protocolVersion ?? "?") \(cipher), 1 MiB writes", tlsBest, "MB/s",
                   reference: ("plaintext TCP", plaintextBest))
        // CPU time (user + system, both event loop threads) per byte: unlike throughput it
        // hardly depends on how much of the shared cores other processes take.
        report.add("plaintext CPU per byte, sender + receiver", plaintextCPU, "ns/B")
        report.add("TLS CPU per byte, sender + receiver", tlsCPU, "ns/B",
                   reference: ("plaintext", plaintextCPU))
        var negotiatedCipherSpeed: Double?
        for evp in ["aes-128-gcm", cipher.contains("AES_256") ? "aes-256-gcm" : nil].compactMap({ $0 }) {
            if let speed = opensslSpeed(evp) {
                report.add("TLS transfer vs one core of \(evp)", tlsBest, "MB/s",
                           reference: ("openssl speed -evp \(evp), 16 KiB", speed))
                negotiatedCipherSpeed = speed
            }
        }
        // What one side could reach if TLS cost only the plaintext path plus the cipher at
        // `openssl speed` rate, each side on its own core: a ceiling, to show how much of the
        // gap to plaintext is the cipher itself and how much is ours (copies, records, calls).
        if let cipherSpeed = negotiatedCipherSpeed {
            let ceiling = 1 / (1 / plaintextBest + 1 / cipherSpeed)
            report.add("TLS transfer vs ceiling (plaintext path + cipher, per side)", tlsBest, "MB/s",
                       reference: ("1/(1/plaintext + 1/cipher)", ceiling))
        }
    }

    /// Certificates from deploy/gen-certs.sh in a temp directory.
    private static func makeCertificates() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        let script = [root + "/deploy/gen-certs.sh", "deploy/gen-certs.sh"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let script else { throw BenchmarkError("deploy/gen-certs.sh not found; run from the repository root") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-bench-tls-\(ProcessInfo.processInfo.processIdentifier)").path
        _ = try command("/bin/bash", [script, "--nodes", "1", directory])
        return directory
    }

    /// `openssl speed -evp NAME -bytes 16384`, in MB/s (its figures are 1000s of bytes per second).
    private static func opensslSpeed(_ evp: String) -> Double? {
        guard let output = try? command("/usr/bin/env", ["openssl", "speed", "-evp", evp, "-bytes", "16384",
                                                         "-seconds", "1"]) else { return nil }
        // "type  16 bytes  64 bytes …" over "AES-128-GCM  1234.56k  …": the name is one field
        // on both lines, then one figure per size.
        let lines = output.split(separator: "\n")
        guard let header = lines.firstIndex(where: { $0.hasPrefix("type") }), header + 1 < lines.count,
              let column = lines[header].split(separator: " ").filter({ Int($0) != nil }).firstIndex(of: "16384"),
              case let fields = lines[header + 1].split(separator: " "), column + 1 < fields.count,
              case let figure = fields[column + 1],
              let thousands = Double(figure.hasSuffix("k") ? figure.dropLast() : figure)
        else { return nil }
        return thousands * 1000 / 1e6
    }

    /// Runs a command and returns its standard output. Not Foundation's `Process`: it passes on
    /// the calling thread's signal mask, and the concurrency pool's threads block SIGALRM, which
    /// `openssl speed` needs to stop. So: posix_spawn with an empty mask and default handlers.
    private static func command(_ executable: String, _ arguments: [String]) throws -> String {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw BenchmarkError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        posix_spawn_file_actions_addclose(&actions, pipe[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(pipe[1])
        defer { close(pipe[0]) }
        guard spawned == 0 else { throw BenchmarkError("cannot run \(executable): error \(spawned)") }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let count = read(pipe[0], &chunk, chunk.count), count > 0 { output += chunk[..<count] }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else {
            throw BenchmarkError("\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One connection from a client loop to a server loop, optionally through TLS.
private struct Link {
    let server: Channel
    let client: Channel
    let progress: ReceiveProgress
    var protocolVersion: String?
    var cipher: String?

    static func open(tls: (server: TLSContext, client: TLSContext)?,
                     serverGroup: EventLoopGroup, clientGroup: EventLoopGroup) async throws -> Link {
        let progress = ReceiveProgress()
        let server = try await ServerBootstrap(group: serverGroup)
            // Bulk-transfer settings, the same for plaintext and TLS: large reads, and room for
            // the sender to prepare the next write while the receiver works on the last one.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 64 << 10, initial: 256 << 10, maximum: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(TLSServerHandler(context: tls.server)) }
                    try channel.pipeline.syncOperations.addHandler(ByteCounter(progress: progress))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let handshake = clientGroup.next().makePromise(of: TLSSessionInfo?.self)
        if tls == nil { handshake.succeed(nil) }
        let client = try await ClientBootstrap(group: clientGroup)
            .channelOption(.writeBufferWaterMark, value: .init(low: 2 << 20, high: 4 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls.client)) }
                    try channel.pipeline.syncOperations.addHandler(BulkSender(handshake: handshake))
                }
            }
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).get()
        let session = try await handshake.futureResult.get()
        return Link(server: server, client: client, progress: progress,
                    protocolVersion: session?.protocolVersion, cipher: session?.cipher)
    }

    /// Sends `bytes` in 1 MiB writes and returns MB/s (10^6 bytes per second) from the first
    /// write to the last byte received.
    struct Result {
        var megabytesPerSecond: Double
        var cpuNanosecondsPerByte: Double
    }

    /// Sends `bytes` in 1 MiB writes: MB/s (10^6 bytes per second) from the first write to the
    /// last byte received, and the process's CPU time per byte meanwhile (only the two event
    /// loops work during a transfer).
    func transfer(bytes: Int) async throws -> Result {
        let done = server.eventLoop.makePromise(of: Void.self)
        progress.expect(bytes, done: done)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = Self.processCPUSeconds()
        try await client.triggerUserOutboundEvent(BulkSender.Send(bytes: bytes)).get()
        try await done.futureResult.get()
        let cpu = Self.processCPUSeconds() - cpuStart
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(megabytesPerSecond: Double(bytes) / seconds / 1e6,
                      cpuNanosecondsPerByte: cpu * 1e9 / Double(bytes))
    }

    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    func close() async throws {
        try await client.close()
        try await server.close()
    }
}

/// Counts bytes received across the accepted connection and completes the round's promise.
private final class ReceiveProgress: Sendable {
    private struct Round {
        var remaining = 0
        var done: EventLoopPromise<Void>?
    }
    private let round = Mutex(Round())

    func expect(_ bytes: Int, done: EventLoopPromise<Void>) {
        round.withLock { $0 = Round(remaining: bytes, done: done) }
    }

    func received(_ bytes: Int) {
        let finished: EventLoopPromise<Void>? = round.withLock { round in
            round.remaining -= bytes
            guard round.remaining <= 0, let done = round.done else { return nil }
            round.done = nil
            return done
        }
        finished?.succeed()
    }
}

private final class ByteCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let progress: ReceiveProgress
    init(progress: ReceiveProgress) { self.progress = progress }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        progress.received(unwrapInboundIn(data).readableBytes)
    }
}

/// Writes 1 MiB buffers while the channel is writable, so the sender never queues more than
/// the channel's high-water mark plus one write.
private final class BulkSender: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Send { var bytes: Int }

    private let handshake: EventLoopPromise<TLSSessionInfo?>
    private var chunk: ByteBuffer?
    private var remaining = 0

    init(handshake: EventLoopPromise<TLSSessionInfo?>) { self.handshake = handshake }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let session)? = event as? TLSEvent { handshake.succeed(session) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let send = event as? Send else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if chunk == nil {
            chunk = context.channel.allocator.buffer(repeating: 0x5a, count: TLSBenchmark.writeBytes)
        }
        remaining = send.bytes
        promise?.succeed()
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func pump(context: ChannelHandlerContext) {
        guard let chunk, remaining > 0 else { return }
        while remaining > 0 && context.channel.isWritable {
            context.write(wrapOutboundOut(chunk), promise: nil)
            remaining -= chunk.readableBytes
        }
        context.flush()
    }
}
