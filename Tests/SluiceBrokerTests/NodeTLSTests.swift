import Foundation
import Logging
import NIOCore
@testable import SluiceBroker
import SluiceCore
import SluiceRaft
import Synchronization
import Testing

/// The node's TLS wiring over real sockets: an inter-node listener and a Raft transport built from
/// `[tls]` settings, with certificates from `deploy/gen-certs.sh`.
@Suite("Node TLS", .timeLimit(.minutes(1)))
struct NodeTLSTests {
    /// Log lines kept in memory, to check what an operator would see.
    final class CapturedLog: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
        var logger: Logger {
            Logger(label: "sluice.test.tls") { _ in Handler(log: self) }
        }
        func contains(_ level: Logger.Level, _ needles: String...) -> Bool {
            lines.withLock { $0.contains { $0.0 == level && needles.allSatisfy($0.1.contains) } }
        }
        struct Handler: LogHandler {
            let log: CapturedLog
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .debug
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                     file: String, function: String, line: UInt) {
                let all = self.metadata.merging(metadata ?? [:]) { $1 }
                log.lines.withLock { $0.append((level, "\(message) \(all)")) }
            }
        }
    }

    /// Two unrelated clusters' certificates in a temp directory.
    final class Certificates: Sendable {
        let directory: String
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-nodetls-\(UUID().uuidString)").path
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("deploy/gen-certs.sh").path
            for cluster in ["a", "b"] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: script)
                process.arguments = ["--nodes", "2", directory + "/" + cluster]
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
            }
        }
        func tls(_ cluster: String, node: Int) -> NodeConfig.TLS {
            let d = directory + "/" + cluster
            return .init(enabled: true, certificatePath: "\(d)/node\(node).crt", privateKeyPath: "\(d)/node\(node).key",
                         caBundlePath: "\(d)/ca.crt")
        }
        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    final class Inbox: Sendable {
        let messages = Mutex<[RaftMessage]>([])
    }

    func startServer(tls: NodeTLS, inbox: Inbox, logger: Logger) async throws -> (InterNodeServer, Task<Void, any Error>) {
        var registry = InterNodeHandlerRegistry()
        registry.register(apiKeys: RaftWireCodec.apiKeys) { request in
            let m = try RaftWireCodec.decode(header: request.header, body: request.body)
            inbox.messages.withLock { $0.append(m) }
            return nil
        }
        let server = try await InterNodeServer.bind(
            .init(host: "127.0.0.1", port: 0, firstHandler: tls.interNodeHandlerFactory), registry: registry, logger: logger)
        return (server, Task { try await server.run() })
    }

    func transport(tls: NodeTLS, to port: Int, host: String = "127.0.0.1", logger: Logger) -> (RaftTransport, Task<Void, any Error>) {
        var configuration = RaftTransport.Configuration()
        configuration.firstHandler = tls.interNodeHandlerFactory
        let transport = RaftTransport(id: 2, peers: [1: HostPort(host: host, port: port)], configuration: configuration,
                                      logger: logger)
        return (transport, Task { try await transport.run() })
    }

    @Test("Raft messages cross mutual TLS between nodes of one cluster, by IP and by DNS name")
    func raftOverMutualTLS() async throws {
        // gen-certs.sh blocks while openssl runs: keep it off the two cooperative threads the
        // server and transport under test need.
        let certs = try await offPool { try Certificates() }
        let log = CapturedLog()
        let inbox = Inbox()
        let (server, _) = try await startServer(tls: try NodeTLS(certs.tls("a", node: 1)), inbox: inbox,
                                                         logger: log.logger)
        defer { server.close() }
        for (i, host) in ["127.0.0.1", "localhost"].enumerated() {
            let (transport, task) = transport(tls: try NodeTLS(certs.tls("a", node: 2)), to: server.port, host: host,
                                              logger: log.logger)
            defer { task.cancel() }
            transport.send([RaftMessage(from: 2, to: 1, term: RaftTerm(UInt64(i + 1)), body: .voteResponse(granted: true))])
            try await waitUntil(timeout: .seconds(20), "message \(i + 1) over TLS to \(host)") {
                inbox.messages.withLock { $0.count == i + 1 }
            }
        }
        #expect(!log.contains(.warning, "refused"))
    }

    @Test("a node of another cluster is refused both ways, and both ends say why at warning")
    func anotherClustersNodeIsRefused() async throws {
        // gen-certs.sh blocks while openssl runs: keep it off the two cooperative threads the
        // server and transport under test need.
        let certs = try await offPool { try Certificates() }
        let serverLog = CapturedLog()
        let clientLog = CapturedLog()
        let inbox = Inbox()
        let (server, _) = try await startServer(tls: try NodeTLS(certs.tls("a", node: 1)), inbox: inbox,
                                                         logger: serverLog.logger)
        defer { server.close() }
        let (transport, task) = transport(tls: try NodeTLS(certs.tls("b", node: 2)), to: server.port,
                                          logger: clientLog.logger)
        defer { task.cancel() }
        transport.send([RaftMessage(from: 2, to: 1, term: 1, body: .voteResponse(granted: true))])
        do {
            try await waitUntil(timeout: .seconds(10), "the refusal logged on both ends") {
                serverLog.contains(.warning, "inter-node connection refused", "unknown ca")
                    && clientLog.contains(.warning, "peer unreachable", "not trusted")
            }
        } catch {
            Issue.record("server: \(serverLog.lines.withLock { $0.map { "\($0.0) \($0.1)" } })\nclient: \(clientLog.lines.withLock { $0.prefix(4).map { "\($0.0) \($0.1)" } })")
            throw error
        }
        #expect(inbox.messages.withLock { $0.isEmpty })
    }
}
