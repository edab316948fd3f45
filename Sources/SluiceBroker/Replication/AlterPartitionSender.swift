import Logging
import SluiceCore
import SluiceMetadata
import SluiceReplication
import SluiceWire

/// Hands this node's partition leaders' ISR changes (Kafka's AlterPartition), and its
/// replicas' reports of a damaged log (ReplicaDamaged), to the controller:
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
        let outcome = await retrying {
            await attempt(inProcess: { await controller.alterPartition(request) }, remote: SluiceWire.AlterPartitionRequest(request))
        }
        switch outcome {
        case .accepted(let isr, let epoch):
            logger.info("ISR of \(partition) changed from \(proposal.oldISR) to \(isr) (partition epoch \(epoch)): \(proposal.reason)")
            return .accepted(isr: isr, partitionEpoch: epoch)
        case .refused(let code, let message, let sentUnanswered):
            logger.info("controller refused the ISR change of \(partition) to \(proposal.newISR) (\(code)): \(message)")
            // After a call whose answer was lost, a stale epoch may be this very change,
            // applied: the leader learns which from the metadata.
            return code == .invalidUpdateVersion && sentUnanswered ? .outcomeUnknown : .rejected
        case .gaveUp(let problem, let sentUnanswered):
            logger.warning("gave up the ISR change of \(partition) to \(proposal.newISR): \(problem)")
            // A call may have reached the controller: whether the change was made is unknown.
            return sentUnanswered ? .outcomeUnknown : .rejected
        }
    }

    func reportDamage(_ damage: DamageReport, for partition: TopicPartition) async -> Bool {
        let report = DamagedReplicaReport(
            topic: partition.topic, partition: partition.partition, replicaID: nodeID, replicaIncarnation: incarnation,
            leaderEpoch: damage.leaderEpoch, partitionEpoch: damage.partitionEpoch, reason: damage.reason)
        let outcome = await retrying {
            await attempt(inProcess: { await controller.replicaDamaged(report) }, remote: ReplicaDamagedRequest(report))
        }
        switch outcome {
        case .accepted(let isr, let epoch):
            logger.info("\(partition): the controller took this damaged replica out of the ISR (now \(isr), partition epoch \(epoch))")
            return true
        case .refused(let code, let message, _):
            logger.error("\(partition): the controller kept this damaged replica in the ISR (\(code)): \(message)")
            return false
        case .gaveUp(let problem, _):
            logger.error("\(partition): gave up reporting the damaged replica: \(problem)")
            return false
        }
    }

    /// How a retried call to the controller ended.
    enum Outcome {
        case accepted(isr: [NodeID], partitionEpoch: PartitionEpoch)
        /// A final refusal; `sentUnanswered`: an earlier try may have reached the controller.
        case refused(KafkaErrorCode, String, sentUnanswered: Bool)
        /// `retryTime` passed without an answer (the last problem, for the log line).
        case gaveUp(String, sentUnanswered: Bool)
    }

    /// Calls `attempt` until it is answered or `retryTime` has passed, backing off between tries.
    func retrying(_ attempt: () async -> Attempt) async -> Outcome {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: retryTime)
        var backoff = backoffInitial
        var lastProblem = ""
        var sentUnanswered = false
        while !Task.isCancelled {
            switch await attempt() {
            case .accepted(let isr, let epoch): return .accepted(isr: isr, partitionEpoch: epoch)
            case .refused(let code, let message): return .refused(code, message, sentUnanswered: sentUnanswered)
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
        return .gaveUp(lastProblem, sentUnanswered: sentUnanswered)
    }

    enum Attempt {
        case accepted(isr: [NodeID], partitionEpoch: PartitionEpoch)
        case refused(KafkaErrorCode, String)
        /// Worth another try: no controller answered (why, for the give-up line); `sent`: the
        /// request may have reached it, so its outcome is unknown.
        case retry(String, sent: Bool)
    }

    /// One try: in process while this node's controller is active (`inProcess` answers nil
    /// when it is not the controller after all), else `remote` to the controller the metadata names.
    func attempt<Request: APIRequest>(inProcess: () async -> AlterPartitionResult?, remote request: Request) async -> Attempt
    where Request.Response: PartitionChangeAnswer {
        if await controller.isActive, let result = await inProcess() {
            switch result {
            case .accepted(let state): return .accepted(isr: state.isr, partitionEpoch: state.partitionEpoch)
            case .rejected(let code, let message): return .refused(code, message)
            }
        }
        guard let id = view.current.controllerID else { return .retry("no controller is known", sent: false) }
        guard id != nodeID else { return .retry("this node leads the metadata log but its controller is not active yet", sent: false) }
        guard let address = voters[id] else { return .retry("controller \(id) is not a voter with a known address", sent: false) }
        let response: Request.Response
        do {
            response = try await client.call(request, to: address)
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

/// What the controller answers to a change of a partition's leadership or ISR.
protocol PartitionChangeAnswer {
    var errorCode: Int16 { get }
    var errorMessage: String? { get }
    var isr: [NodeID] { get }
    var partitionEpoch: PartitionEpoch { get }
}

extension AlterPartitionResponse: PartitionChangeAnswer {}
extension ReplicaDamagedResponse: PartitionChangeAnswer {}
