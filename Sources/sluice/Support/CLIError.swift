import ArgumentParser
import SluiceClient
import SluiceWire

/// A failure as the user reads it: one sentence (or two) saying what happened and what to do.
/// ArgumentParser prints it after `Error:` and exits with code 1; no stack trace is ever shown.
struct CLIError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }

    /// A failure to connect: names the addresses tried and how to start a node.
    static func connecting(_ error: SluiceClientError, bootstrap: [String], tls: Bool) -> CLIError {
        let addresses = bootstrap.joined(separator: ",")
        switch error {
        case .noNodeReachable(let attempts):
            return CLIError("""
                cannot reach any bootstrap node (\(addresses)): is sluice-server running? Start one with \
                `make run-single` or pass --bootstrap (or set SLUICE_BOOTSTRAP). Tried: \(attempts.joined(separator: "; "))
                """ + (tls ? "" : ". If the nodes use TLS, pass --tls-ca."))
        case .connectionFailed(let address, let reason), .connectionClosed(let address, let reason):
            return CLIError("""
                cannot reach bootstrap node \(address) (\(reason)): is sluice-server running there? Start one with \
                `make run-single` or pass --bootstrap\(tls ? "; check the --tls-* options" : "; if the nodes use TLS, pass --tls-ca").
                """)
        case .invalidConfiguration(let problems):
            return CLIError("the connection options are unusable: \(problems.joined(separator: "; ")).")
        default:
            return CLIError(sentence(for: error))
        }
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
        guard case .server(let code, _, let resource, _) = error else { return "\(error)" }
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
        _ = resource
        return "\(error)" + (hint.map { "; \($0)" } ?? "")
    }
}
