import ArgumentParser
import SluiceClient

/// A failure as the user reads it: one sentence (or two) saying what happened and what to do.
/// ArgumentParser prints it after `Error:` and exits with code 1; no stack trace is ever shown.
struct CLIError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }

    /// A failure to connect: names the addresses tried, why each failed, and how to start a node.
    static func connecting(_ error: SluiceClientError, bootstrap: [String], tls: Bool) -> CLIError {
        let addresses = bootstrap.joined(separator: ",")
        let reasons: [String]
        switch error {
        case .noNodeReachable(let attempts): reasons = attempts
        case .connectionFailed(let address, let reason), .connectionClosed(let address, let reason):
            reasons = ["\(address): \(reason)"]
        case .invalidConfiguration(let problems):
            return CLIError("the connection options are unusable: \(problems.joined(separator: "; ")).")
        default:
            return CLIError(sentence(for: error))
        }
        let tried = reasons.map(condensed).joined(separator: "; ")
        let tlsHint = tls ? " Check the --tls-* options (CA, certificate, server name)."
            : (["tls", "ssl", "closed"].contains(where: tried.lowercased().contains)
                ? " A node that closes a plaintext connection may expect TLS: pass --tls-ca." : "")
        return CLIError("""
            cannot reach any bootstrap node (\(addresses)): is sluice-server running? Start one with `make run-single` \
            or pass --bootstrap (or set SLUICE_BOOTSTRAP). [\(tried)]\(tlsHint)
            """)
    }

    /// The gist of a connection failure: "127.0.0.1:9092: connection refused" rather than the
    /// transport's nested error dump.
    static func condensed(_ attempt: String) -> String {
        let lowered = attempt.lowercased()
        let address = attempt.split(separator: " ", maxSplits: 1).first.map { $0.trimming(":") } ?? attempt
        for (needle, gist) in [("connection refused", "connection refused"), ("timed out", "timed out"),
                               ("no route", "no route to host"), ("name or service not known", "unknown host"),
                               ("certificate", "TLS certificate rejected"), ("tls", "TLS handshake failed"),
                               ("ssl", "TLS handshake failed"), ("reset", "connection reset")]
        where lowered.contains(needle) {
            return "\(address): \(gist)"
        }
        return String(attempt.prefix(200))
    }

    /// Any error as a sentence with a hint; ``CLIError``s and ArgumentParser's errors pass through.
    static func wrapping(_ error: any Error) -> any Error {
        switch error {
        case is CLIError, is ValidationError, is ExitCode, is CleanExit: return error
        case let error as SluiceClientError: return CLIError(sentence(for: error))
        default: return CLIError("\(error)")
        }
    }

    /// ``SluiceClientError``'s own sentence plus what to do for the codes users meet most.
    static func sentence(for error: SluiceClientError) -> String {
        guard case .server(let code, _, _, _) = error else { return "\(error)" }
        let hint: String? = switch code {
        case .topicAlreadyExists: "pick another name, or delete it first with `sluice topic delete`"
        case .unknownTopicOrPartition: "check the name with `sluice topic list`"
        case .invalidPartitions: "a topic's partition count can only grow; `sluice topic describe` shows the current count"
        case .invalidReplicationFactor: "the replication factor cannot exceed the number of nodes (`sluice cluster status`)"
        case .groupIDNotFound: "check the name with `sluice group list`"
        case .coordinatorNotAvailable, .notCoordinator:
            "the cluster has no group coordinator right now; retry in a few seconds (`sluice cluster status` shows the controller)"
        case .leaderNotAvailable, .notLeaderOrFollower:
            "a partition has no leader right now; `sluice cluster status` lists offline partitions"
        case .unsupportedVersion: "the node does not serve this request; upgrade the node or the tool"
        default: nil
        }
        return "\(error)" + (hint.map { "; \($0)" } ?? "")
    }
}
