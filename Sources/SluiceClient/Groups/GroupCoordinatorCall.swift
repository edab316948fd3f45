import SluiceCore
import SluiceWire

/// Calls to a group's coordinator, shared by the consumer and the admin client.
enum GroupCoordinatorCall {
    /// Runs `call` at `group`'s coordinator (FindCoordinator, cached by the cluster client).
    /// After a coordinator error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
    /// COORDINATOR_LOAD_IN_PROGRESS, returned as the call's second result) or a retriable
    /// failure such as a lost connection, it forgets the coordinator, waits the client's
    /// backoff, finds it again and retries, until the request timeout. Any other non-zero code
    /// is thrown.
    static func run<T: Sendable>(
        _ cluster: ClusterClient, group: String, api: KafkaAPIKey,
        isolation: isolated (any Actor)? = #isolation,
        _ call: (NodeID) async throws(SluiceClientError) -> (T, KafkaErrorCode)
    ) async throws(SluiceClientError) -> T {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        while true {
            var failure: SluiceClientError
            do throws(SluiceClientError) {
                let node = try await cluster.coordinator(forGroup: group)
                let (answer, code) = try await call(node)
                if code == .none { return answer }
                failure = .server(code, api: api, resource: "group \(group)", message: nil)
                guard GroupMembership.isCoordinatorError(code) else { throw failure }
            } catch {
                guard error.isRetriable else { throw error }
                failure = error
            }
            await cluster.forgetCoordinator(forGroup: group)
            guard ContinuousClock.now < deadline else { throw failure }
            try? await Task.sleep(for: cluster.configuration.retryBackoff)
        }
    }
}

extension OffsetFetchResponse {
    /// The committed offsets in the answer, by partition; partitions with an error or with
    /// nothing committed (offset -1) are left out.
    var committedOffsets: [TopicPartition: Offset] {
        var result: [TopicPartition: Offset] = [:]
        for topic in topics {
            guard let name = TopicName(rawValue: topic.name) else { continue }
            for p in topic.partitions where p.errorCode == 0 && p.committedOffset >= .zero {
                result[TopicPartition(name, p.partitionIndex)] = p.committedOffset
            }
        }
        return result
    }
}
