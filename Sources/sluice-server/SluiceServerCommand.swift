import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SluiceBroker
import SluiceCore

/// `sluice-server`: runs one Sluice node.
@main
struct SluiceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-server",
        abstract: "Run a Sluice broker node (Kafka wire protocol, Raft metadata log).",
        discussion: """
            With no arguments, runs a single-node development broker on 127.0.0.1:9092 with \
            data under ./data/dev. With --config FILE, reads the node's TOML configuration \
            (every key is documented with its default in Config/sluice.toml). SIGTERM or \
            SIGINT shut the node down gracefully. The log level comes from SLUICE_LOG_LEVEL \
            (trace, debug, info, notice, warning, error; default info).
            """,
        version: SluiceVersion.current)

    @Option(name: .long, help: "Path to the node's TOML configuration file.")
    var config: String?

    func run() async throws {
        let level = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "sluice")
        let nodeConfig = try loadConfig()
        logger[metadataKey: "node"] = "\(nodeConfig.node.id)"
        logger.info("sluice-server \(SluiceVersion.current) starting: data \(nodeConfig.node.dataDirectory), clients \(nodeConfig.listeners.client), inter-node \(nodeConfig.listeners.interNode), TLS \(nodeConfig.tls.enabled ? (nodeConfig.tls.clientListener ? "on both listeners" : "inter-node only") : "off"), voters \(nodeConfig.effectiveVoters.map(\.description))")

        let tls = try loadTLS(nodeConfig)
        let node: SluiceNode
        do {
            node = try await SluiceNode(config: nodeConfig, tls: tls, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        // SIGHUP re-reads the TLS files (a certificate rotation) without a restart.
        let hangup = Self.reloadTLSOnHangup(tls, logger: logger)
        defer { hangup?.cancel() }
        let group = ServiceGroup(configuration: .init(
            services: node.services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        var clean = true
        do {
            try await group.run()
        } catch {
            logger.error("stopped with an error: \(error)")
            clean = false
        }
        await node.logs.closeAll()
        if clean {
            do { try node.markCleanShutdown() } catch { logger.error("could not record the clean shutdown: \(error)") }
        }
        logger.info("sluice-server stopped; partition logs flushed and closed")
        // A node that stopped on an error (its metadata log could not be written, say) exits
        // with a failure status, so a supervisor restarts it and an operator sees why.
        if !clean { throw ExitCode(1) }
    }

    /// Reloads the node's TLS files on every SIGHUP (nil when TLS is off): new connections get
    /// the new certificate, open ones keep theirs; files that do not load leave the old ones.
    static func reloadTLSOnHangup(_ tls: NodeTLS, logger: Logger) -> DispatchSourceSignal? {
        signal(SIGHUP, SIG_IGN)
        guard tls.isEnabled else { return nil }
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "sluice.sighup"))
        source.setEventHandler {
            do {
                try tls.reload()
                logger.notice("SIGHUP: TLS certificates, key and CA reloaded; new connections use them")
            } catch {
                logger.error("SIGHUP: the TLS files cannot be used, the previous ones stay in use: \(error)")
            }
        }
        source.resume()
        return source
    }

    /// The TLS contexts of `[tls]`, every certificate and key read and checked now: a node that
    /// cannot serve TLS must not start. Problems are printed like configuration errors (one per
    /// line, with a log line too) and the process exits with status 2.
    func loadTLS(_ nodeConfig: NodeConfig) throws -> NodeTLS {
        do {
            return try NodeTLS(nodeConfig.tls)
        } catch {
            Logger(label: "sluice").critical("cannot start: \(error)")
            FileHandle.standardError.write(Data("sluice-server: the [tls] files cannot be used:\n".utf8))
            for problem in error.problems {
                FileHandle.standardError.write(Data("  - \(problem)\n".utf8))
            }
            throw ExitCode(2)
        }
    }

    /// The configuration from `--config`, or the development defaults. Every problem is
    /// printed, one per line, and the process exits with status 2.
    func loadConfig() throws -> NodeConfig {
        guard let path = config else { return NodeConfig() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("sluice-server: cannot read \(path): \(error.localizedDescription)\n".utf8))
            throw ExitCode(2)
        }
        do {
            return try NodeConfig(toml: text)
        } catch {
            FileHandle.standardError.write(Data("sluice-server: \(path) is not a valid configuration:\n".utf8))
            for problem in error.problems {
                FileHandle.standardError.write(Data("  - \(problem)\n".utf8))
            }
            throw ExitCode(2)
        }
    }
}
