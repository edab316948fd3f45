import SluiceCore
import SluiceWire

/// What ElectLeaders elects (KIP-460).
public enum LeaderElection: Sendable {
    /// Each partition's first replica, where it is in sync: leaders spread as placed.
    case preferred
    /// A leaderless partition's live in-sync replica, or else any live replica, even one that
    /// lacks acknowledged records: for an operator who accepts that loss to end an outage.
    case unclean
}

/// One partition's answer to an election.
public struct LeaderElectionResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// A new leader was elected.
        case elected
        /// The partition already has the leader the election would pick.
        case notNeeded
        /// Not elected, with the broker's reason.
        case failed(String)
    }
    public var partition: TopicPartition
    public var outcome: Outcome
}

extension AdminClient {
    /// Elects leaders at the controller (ElectLeaders v1) for `partitions`, or for every
    /// partition that needs it when nil (the answer then lists only those).
    public func electLeaders(_ election: LeaderElection, partitions: [TopicPartition]? = nil) async throws(SluiceClientError) -> [LeaderElectionResult] {
        let topics = partitions.map { list in
            Dictionary(grouping: list, by: \.topic).sorted { $0.key < $1.key }.map { topic, parts in
                ElectLeadersRequest.ElectLeadersTopicPartitions(topic: topic.rawValue, partitions: parts.map(\.partition).sorted())
            }
        }
        let request = ElectLeadersRequest(electionType: election == .preferred ? 0 : 1, topicPartitions: topics, timeoutMs: timeoutMs)
        let response = try await withControllerRetries { node throws(SluiceClientError) in
            let answer = try await cluster.send(request, to: node, maxVersion: 1)
            try Self.retryIfNotController([answer.errorCode], api: .electLeaders)
            if let error = SluiceClientError.serverIfError(answer.errorCode, api: .electLeaders, resource: nil) { throw error }
            return answer
        }
        var results: [LeaderElectionResult] = []
        for topic in response.replicaElectionResults {
            guard let name = TopicName(rawValue: topic.topic) else { continue }
            for p in topic.partitionResult {
                let outcome: LeaderElectionResult.Outcome
                switch KafkaErrorCode.from(p.errorCode) {
                case .none: outcome = .elected
                case .electionNotNeeded: outcome = .notNeeded
                case let code: outcome = .failed(p.errorMessage.map { "\(code): \($0)" } ?? "\(code)")
                }
                results.append(LeaderElectionResult(partition: TopicPartition(name, p.partitionID), outcome: outcome))
            }
        }
        return results.sorted { $0.partition < $1.partition }
    }
}
