import Logging
import NIOCore
import SluiceTLS

/// The node's TLS contexts, built once at start-up from `[tls]` (DESIGN §2.6). Building them
/// reads and checks every file, so a node with a missing, unreadable or mismatched certificate
/// or key refuses to start, naming each problem.
///
/// - `clientListener`: the Kafka listener's server context (nil: plaintext clients), asking for
///   client certificates per `tls.client_auth`.
/// - `interNodeServer`: the inter-node listener, always mutual TLS with the cluster CA.
/// - `interNodeClient`: connections to peers (Raft, heartbeats, forwarding), presenting the
///   node certificate and verifying each peer against the host of its voter address.
public struct NodeTLS: Sendable {
    public let clientListener: TLSContext?
    public let interNodeServer: TLSContext?
    public let interNodeClient: TLSContext?

    /// TLS off everywhere.
    public static let disabled = NodeTLS(clientListener: nil, interNodeServer: nil, interNodeClient: nil)

    init(clientListener: TLSContext?, interNodeServer: TLSContext?, interNodeClient: TLSContext?) {
        self.clientListener = clientListener
        self.interNodeServer = interNodeServer
        self.interNodeClient = interNodeClient
    }

    /// Whether any listener or outgoing connection uses TLS.
    public var isEnabled: Bool { clientListener != nil || interNodeServer != nil || interNodeClient != nil }

    /// Reads the certificate, key and CA files again (a rotation, on SIGHUP): connections
    /// accepted or made from now on use them, open ones keep theirs. All or nothing: if any
    /// context cannot be rebuilt from the new files, none changes and the problems are thrown.
    public func reload() throws(LoadError) {
        let contexts = [clientListener, interNodeServer, interNodeClient].compactMap { $0 }
        var problems: [String] = []
        for context in contexts {
            do throws(TLSConfigurationError) {
                _ = try TLSContext(configuration: context.configuration)
            } catch {
                let line = "\(error)"
                if !problems.contains(line) { problems.append(line) }
            }
        }
        guard problems.isEmpty else { throw LoadError(problems: problems) }
        for context in contexts {
            do throws(TLSConfigurationError) { try context.reload() } catch {
                // Checked just above; a file replaced again in between keeps the old context.
                problems.append("\(error)")
            }
        }
        if !problems.isEmpty { throw LoadError(problems: problems) }
    }

    /// Every file problem, one readable line each (the same for all three contexts is reported once).
    public struct LoadError: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "; ") }
    }

    public init(_ config: NodeConfig.TLS) throws(LoadError) {
        guard config.enabled else {
            self = .disabled
            return
        }
        var problems: [String] = []
        func build(_ configuration: TLSConfiguration) -> TLSContext? {
            do {
                return try TLSContext(configuration: configuration)
            } catch {
                for problem in error.problems.map({ "tls: \($0)" }) where !problems.contains(problem) {
                    problems.append(problem)
                }
                return nil
            }
        }
        let interNodeServer = build(.server(certificateChainPath: config.certificatePath,
                                            privateKeyPath: config.privateKeyPath,
                                            caBundlePath: config.caBundlePath, clientAuthentication: .required))
        let interNodeClient = build(.client(caBundlePath: config.caBundlePath,
                                            certificateChainPath: config.certificatePath,
                                            privateKeyPath: config.privateKeyPath))
        var clientListener: TLSContext? = nil
        if config.clientListener {
            let auth = TLSConfiguration.ClientAuthentication(rawValue: config.clientAuthentication.rawValue)!
            clientListener = build(.server(certificateChainPath: config.certificatePath,
                                           privateKeyPath: config.privateKeyPath,
                                           caBundlePath: config.caBundlePath, clientAuthentication: auth))
        }
        guard problems.isEmpty else { throw LoadError(problems: problems) }
        self.init(clientListener: clientListener, interNodeServer: interNodeServer, interNodeClient: interNodeClient)
    }

    /// The first handler of every inter-node pipeline, or nil when TLS is off.
    var interNodeHandlerFactory: ChannelHandlerFactory? {
        guard let server = interNodeServer, let client = interNodeClient else { return nil }
        return { _, side in
            switch side {
            case .accepted: return TLSServerHandler(context: server)
            case .outgoing(let peer): return try TLSClientHandler(context: client, serverName: peer.host)
            }
        }
    }
}

extension Logger {
    /// A connection that ended with an error. TLS failures are an operator's business (an
    /// untrusted or expired certificate, a plaintext client on a TLS port, a peer that rejects
    /// our certificate with an alert), so they are warnings naming the peer. A peer that hangs up
    /// without a word, during the handshake (a port probe, a client giving up) or after it (Kafka
    /// clients rarely send close_notify), is routine: debug.
    func connectionFailed(_ error: any Error, peer: String, listener: String) {
        guard let tls = error as? TLSError else {
            debug("\(listener) connection ended", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return
        }
        switch tls {
        case .uncleanShutdown, .connectionClosed:
            debug("\(listener) connection: TLS ended by the peer: \(tls)", metadata: ["peer": "\(peer)"])
        case .handshakeFailed(let openSSL) where openSSL.contains("closed during the handshake"):
            debug("\(listener) connection: handshake aborted by the peer: \(tls)", metadata: ["peer": "\(peer)"])
        default:
            warning("\(listener) connection refused: TLS: \(tls)", metadata: ["peer": "\(peer)"])
        }
    }
}
