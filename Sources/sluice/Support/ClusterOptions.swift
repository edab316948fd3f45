import ArgumentParser
import SluiceClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the cluster is and how to reach it: shared by every command that talks to one.
struct ClusterOptions: ParsableArguments {
    /// Used when neither `--bootstrap` nor `SLUICE_BOOTSTRAP` is given.
    static let defaultBootstrap = "127.0.0.1:9092"

    @Option(help: ArgumentHelp(
        "Nodes to learn the cluster from, host:port[,host:port…] (default: $SLUICE_BOOTSTRAP, else \(defaultBootstrap)).",
        valueName: "addresses"))
    var bootstrap: String?

    @Flag(help: "Connect with TLS, verifying the nodes against the system trust store (implied by any --tls-* option).")
    var tls = false

    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("PEM bundle of the CAs the nodes' certificates chain to.", valueName: "file"))
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM client certificate, for nodes that require one.", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .customLong("tls-server-name"), help: ArgumentHelp(
        "The name every node's certificate must carry, instead of the dialled host.", valueName: "name"))
    var tlsServerName: String?

    @Option(name: .customLong("request-timeout"), help: ArgumentHelp("Seconds a request may wait for its answer.", valueName: "seconds"))
    var requestTimeoutSeconds: Double = 30

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both for a client certificate, or neither.")
        }
        guard requestTimeoutSeconds > 0, requestTimeoutSeconds <= 3600 else {
            throw ValidationError("--request-timeout must lie in (0, 3600] seconds.")
        }
        let problems = configuration.problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "; ") + ".") }
    }

    /// The bootstrap addresses: `--bootstrap`, else `SLUICE_BOOTSTRAP`, else the default.
    var bootstrapAddresses: [String] {
        let text = bootstrap ?? ProcessEnvironment.value(of: "SLUICE_BOOTSTRAP") ?? Self.defaultBootstrap
        return text.split(separator: ",").map { $0.trimming(" ") }.filter { !$0.isEmpty }
    }

    /// The client settings these options describe.
    var configuration: ClientConfiguration {
        var configuration = ClientConfiguration(bootstrap: bootstrapAddresses)
        configuration.clientID = "sluice-cli"
        configuration.requestTimeout = .milliseconds(Int64(requestTimeoutSeconds * 1000))
        if tls || tlsCA != nil || tlsCert != nil || tlsKey != nil || tlsServerName != nil {
            configuration.tls = ClientTLS(caFile: tlsCA, certificateFile: tlsCert, privateKeyFile: tlsKey,
                                          serverName: tlsServerName)
        }
        return configuration
    }

    /// Connects, runs `body` with the client, and closes the client whatever happens. Client
    /// errors come out as ``CLIError``s that say what to do.
    func withClient<T>(_ body: (SluiceClient) async throws -> T) async throws -> T {
        let client: SluiceClient
        do {
            client = try await SluiceClient(configuration: configuration)
        } catch {
            throw CLIError.connecting(error, bootstrap: bootstrapAddresses, tls: configuration.tls != nil)
        }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw CLIError.wrapping(error)
        }
    }
}

/// Reads the process environment (a tiny seam so the lookup is in one place).
enum ProcessEnvironment {
    static func value(of name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}

extension StringProtocol {
    /// The text without leading and trailing `character`s.
    func trimming(_ character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}
