import Foundation
import SluiceClient
import SluiceCore

/// One or more real `sluice-server` processes for a test: node I binds 127.0.0.I (client port
/// P, inter-node P+1, HTTP P+2, the layout of deploy/local-cluster.sh), with data and logs in a
/// fresh temporary directory that is removed afterwards unless the test failed.
///
/// ```swift
/// try await TestCluster.with(nodes: 3) { cluster in
///     let client = try await cluster.client()
///     …
/// }
/// ```
final class TestCluster: Sendable {
    let nodes: [ServerProcess]
    let directory: URL
    /// Certificates from deploy/gen-certs.sh when started with TLS.
    let tlsDirectory: URL?

    var bootstrap: [String] { nodes.map(\.bootstrap) }

    private init(nodes: [ServerProcess], directory: URL, tlsDirectory: URL?) {
        self.nodes = nodes
        self.directory = directory
        self.tlsDirectory = tlsDirectory
    }

    /// Starts `count` nodes, waits until each is ready, runs `body`, and stops every node
    /// whatever happens. `extraConfig` is appended to each node's TOML (e.g. a `[topics]` section).
    static func with<T: Sendable>(nodes count: Int = 1, tls: Bool = false, extraConfig: String = "",
                                  _ body: (TestCluster) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-client-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hosts = (1...count).map { "127.0.0.\($0)" }
        var tlsDirectory: URL?
        if tls {
            let certificates = directory.appendingPathComponent("certs")
            let script = ServerBinary.repositoryRoot.appendingPathComponent("deploy/gen-certs.sh").path
            let (status, output) = try await runTool("/bin/bash", [script, "--nodes", "\(count)", certificates.path])
            guard status == 0 else { throw HarnessError("gen-certs.sh failed: \(output)") }
            tlsDirectory = certificates
        }
        // Ports are checked free, then bound by the servers: another process may take one in
        // between (tests run in parallel), so a start that loses that race is retried on new ports.
        var attempt = 0
        while true {
            attempt += 1
            let port = try await offPool { try freePortBase(hosts: hosts) }
            let voters = (1...count).map { "\($0)@127.0.0.\($0):\(port + 1)" }
            let nodes = try (1...count).map { index in
                try ServerProcess(id: Int32(index), host: "127.0.0.\(index)", clientPort: port, voters: voters,
                                  directory: directory.appendingPathComponent("attempt\(attempt)/node\(index)"),
                                  tlsDirectory: tlsDirectory, extraConfig: extraConfig)
            }
            let cluster = TestCluster(nodes: nodes, directory: directory, tlsDirectory: tlsDirectory)
            do {
                for node in nodes { try node.start() }
                for node in nodes { try await node.waitReady() }
            } catch {
                try? await cluster.stopAll()
                if attempt < 3, "\(error)".contains("Address already in use") { continue }
                print("TestCluster: kept \(directory.path) for inspection after: \(error)")
                throw error
            }
            do {
                let result = try await body(cluster)
                try await cluster.stopAll()
                try? FileManager.default.removeItem(at: directory)
                return result
            } catch {
                try? await cluster.stopAll()
                print("TestCluster: kept \(directory.path) for inspection after: \(error)")
                throw error
            }
        }
    }

    /// A client of this cluster (TLS with the generated CA when the cluster uses TLS).
    func client(configure: (inout ClientConfiguration) -> Void = { _ in }) async throws -> SluiceClient {
        var configuration = ClientConfiguration(bootstrap: bootstrap)
        configuration.requestTimeout = .seconds(10)
        configuration.retryBackoff = .milliseconds(50)
        if let tlsDirectory {
            configuration.tls = ClientTLS(caFile: tlsDirectory.appendingPathComponent("ca.crt").path)
        }
        configure(&configuration)
        return try await SluiceClient(configuration: configuration)
    }

    /// The node with `id`.
    func node(_ id: NodeID) throws -> ServerProcess {
        guard let node = nodes.first(where: { $0.id == id.rawValue }) else { throw HarnessError("no node \(id)") }
        return node
    }

    func stopAll() async throws {
        for node in nodes { try await node.stop() }
    }

    /// A port P such that P, P+1 and P+2 are free on every host, below the ephemeral range so
    /// that outgoing connections cannot take them meanwhile.
    private static func freePortBase(hosts: [String]) throws -> Int {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let base = Int.random(in: 20_000..<31_990, using: &generator)
            if hosts.allSatisfy({ host in (base..<base + 3).allSatisfy { canBind(host: host, port: $0) } }) {
                return base
            }
        }
        throw HarnessError("no free port range found")
    }

    private static func canBind(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
