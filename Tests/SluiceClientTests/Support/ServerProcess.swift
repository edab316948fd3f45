import Foundation
import Synchronization

/// Runs blocking work (process waits, curl, openssl, python) on a Dispatch thread, never on the
/// cooperative pool (it has two threads here and a blocked one starves the client under test).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// A failure of the test harness itself (a node that never became ready, a tool that failed).
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where the built `sluice-server` is: `$SLUICE_SERVER`, else next to the test bundle (the
/// products of `swift build --build-tests` share one directory), else `.build/debug`.
enum ServerBinary {
    static let path: String = {
        if let path = ProcessInfo.processInfo.environment["SLUICE_SERVER"] { return path }
        let fileManager = FileManager.default
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sluice-server").path
            if fileManager.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/sluice-server").path
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Runs a command to completion off the pool; returns its exit status and combined output.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
             input: String? = nil) async throws -> (status: Int32, output: String) {
    try await offPool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// One `sluice-server` process with its own config, data directory and log, on fixed
/// addresses so that it can be killed and restarted on the same ones.
final class ServerProcess: Sendable {
    let id: Int32
    let host: String
    let clientPort: Int
    let directory: URL
    private let process = Mutex<Process?>(nil)

    var bootstrap: String { "\(host):\(clientPort)" }
    var httpAddress: String { "\(host):\(clientPort + 2)" }
    var logPath: String { directory.appendingPathComponent("server.log").path }
    var configPath: String { directory.appendingPathComponent("sluice.toml").path }

    /// Writes the config; `voters` are "id@host:interNodePort" of the whole cluster.
    init(id: Int32, host: String, clientPort: Int, voters: [String], directory: URL, tlsDirectory: URL?,
         extraConfig: String) throws {
        self.id = id
        self.host = host
        self.clientPort = clientPort
        self.directory = directory
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"),
                                                withIntermediateDirectories: true)
        var config = """
            [node]
            id = \(id)
            data_dir = "\(directory.appendingPathComponent("data").path)"

            [listeners]
            client = "\(host):\(clientPort)"
            inter_node = "\(host):\(clientPort + 1)"
            http = "\(host):\(clientPort + 2)"

            [cluster]
            voters = [\(voters.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        if let tlsDirectory {
            config += """

                [tls]
                enabled = true
                certificate = "\(tlsDirectory.appendingPathComponent("node\(id).crt").path)"
                private_key = "\(tlsDirectory.appendingPathComponent("node\(id).key").path)"
                ca = "\(tlsDirectory.appendingPathComponent("ca.crt").path)"
                client_auth = "none"

                """
        }
        config += extraConfig
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts the process (its output appended to `server.log`).
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerBinary.path)
        process.arguments = ["--config", configPath]
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
    }

    var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Waits until `/healthz` answers 200; fails with the log's tail if the process exits or
    /// `timeout` passes.
    func waitReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard isRunning else { throw HarnessError("node \(id) exited before it was ready:\n\(logTail())") }
            let (_, code) = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                                "--max-time", "2", "http://\(httpAddress)/healthz"])
            if code == "200" { return }
            if ContinuousClock.now > deadline {
                throw HarnessError("node \(id) not ready within \(timeout) (healthz \(code)):\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL (a crash), then waits for the process to be gone.
    func kill() async throws {
        try await signalAndWait(SIGKILL)
    }

    /// SIGTERM (a graceful stop), then waits; SIGKILL after 15 s.
    func stop() async throws {
        guard let running = process.withLock({ $0 }), running.isRunning else { return }
        running.terminate()
        let deadline = ContinuousClock.now + .seconds(15)
        while running.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if running.isRunning { try await signalAndWait(SIGKILL) }
    }

    private func signalAndWait(_ signal: Int32) async throws {
        guard let running = process.withLock({ $0 }), running.isRunning else { return }
        Foundation.kill(running.processIdentifier, signal)
        try await offPool { running.waitUntilExit() }
    }

    func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
