import Logging
import SluiceCore
import SluiceMetadata
import SluiceReplication
import SluiceWire

/// Hands this node's partition leaders' ISR changes to the controller (Kafka's AlterPartition):
/// in process while this node's controller is active, otherwise over the inter-node listener to
/// the controller that the metadata log's leadership names (as `BrokerHeartbeater` finds it).
///
/// NOT_CONTROLLER, an unknown or unreachable controller and timeouts are retried with backoff
/// until `retryTime` has passed (a controller failover takes about an election timeout), so a
/// submission takes at most `retryTime` plus one call's timeout (`InterNodeClient.timeout`);
/// every other refusal is final and answered `.rejected` at once. A retry after a lost answer may find
/// its own change already applied and be refused as a stale partition epoch: the leader then
/// learns the ISR from the metadata, which is what `.rejected` tells it to wait for.
struct AlterPartitionSender: ISRChangeSubmitting {
    let nodeID: NodeID
    /// This process's registration; the controller refuses changes from an earlier one.
    let incarnation: KafkaUUID
    let controller: ControllerService
    let view: MetadataView
    let client: InterNodeClient
    /// Inter-node addresses of the voters (the controller is always one).
    let voters: [NodeID: HostPort]
    let logger: Logger
    var retryTime: Duration = .seconds(5)
    var backoffInitial: Duration = .milliseconds(50)
    var backoffMax: Duration = .milliseconds(500)

    func submit(_ proposal: ISRProposal, for partition: TopicPartition) async -> LeaderState.ISRChangeAnswer {
        let request = SluiceMetadata.AlterPartitionRequest(
            topic: partition.topic, partition: partition.partition, leaderID: nodeID, leaderIncarnation: incarnation,
            leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch, newISR: proposal.newISR)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: retryTime)
        var backoff = backoffInitial
        var lastProblem = ""
        var sentUnanswered = false
        while !Task.isCancelled {
            switch await attempt(request) {
            case .accepted(let isr, let epoch):
                logger.info("ISR of \(partition) changed from \(proposal.oldISR) to \(isr) (partition epoch \(epoch)): \(proposal.reason)")
                return .accepted(isr: isr, partitionEpoch: epoch)
            case .refused(let code, let message):
                logger.info("controller refused the ISR change of \(partition) to \(proposal.newISR) (\(code)): \(message)")
                // After a call whose answer was lost, a stale epoch may be this very change,
                // applied: the leader learns which from the metadata.
                return code == .invalidUpdateVersion && sentUnanswered ? .outcomeUnknown : .rejected
            case .retry(let problem, let sent):
                lastProblem = problem
                sentUnanswered = sentUnanswered || sent
            }
            // The last wait ends at the deadline, so the controller gets its full `retryTime`.
            let now = clock.now
            guard now < deadline else { break }
            do { try await Task.sleep(for: min(backoff, now.duration(to: deadline))) } catch { break }
            backoff = min(backoff * 2, backoffMax)
        }
        logger.warning("gave up the ISR change of \(partition) to \(proposal.newISR): \(lastProblem)")
        // A call may have reached the controller: whether the change was made is unknown.
        return sentUnanswered ? .outcomeUnknown : .rejected
    }

    enum Attempt {
        case accepted(isr: [NodeID], partitionEpoch: PartitionEpoch)
        case refused(KafkaErrorCode, String)
        /// Worth another try: no controller answered (why, for the give-up line); `sent`: the
        /// request may have reached it, so its outcome is unknown.
        case retry(String, sent: Bool)
    }

    func attempt(_ request: SluiceMetadata.AlterPartitionRequest) async -> Attempt {
        if await controller.isActive, let result = await controller.alterPartition(request) {
            switch result {
            case .accepted(let state): return .accepted(isr: state.isr, partitionEpoch: state.partitionEpoch)
            case .rejected(let code, let message): return .refused(code, message)
            }
        }
        guard let id = view.current.controllerID else { return .retry("no controller is known", sent: false) }
        guard id != nodeID else { return .retry("this node leads the metadata log but its controller is not active yet", sent: false) }
        guard let address = voters[id] else { return .retry("controller \(id) is not a voter with a known address", sent: false) }
        let response: AlterPartitionResponse
        do {
            response = try await client.call(SluiceWire.AlterPartitionRequest(request), to: address)
        } catch {
            // A refused or failed connection never carried the request; a timeout or a
            // connection closed before the answer may have.
            return .retry("controller \(id) at \(address): \(error)", sent: error is InterNodeClient.CallError)
        }
        guard response.errorCode == KafkaErrorCode.none.rawValue else {
            let code = KafkaErrorCode(rawValue: response.errorCode) ?? .unknownServerError
            if code == .notController { return .retry("node \(id) is no longer the controller", sent: false) }
            return .refused(code, response.errorMessage ?? "error \(response.errorCode)")
        }
        return .accepted(isr: response.isr, partitionEpoch: response.partitionEpoch)
    }
}
