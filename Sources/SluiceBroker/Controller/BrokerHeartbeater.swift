import Logging
import ServiceLifecycle
import SluiceCore
import SluiceMetadata
import SluiceWire

/// Sends this node's heartbeat to the controller every interval: it registers the node (with
/// the endpoints clients and peers use), keeps its lease, and gets it unfenced after a restart.
struct BrokerHeartbeater: Service {
    let heartbeat: BrokerHeartbeat
    let controller: ControllerService
    let view: MetadataView
    let client: InterNodeClient
    let voters: [NodeID: HostPort]
    let interval: Duration
    let logger: Logger
    /// Whether this node's previous process shut down cleanly (the storage knows); sent with
    /// every heartbeat, read by the controller when it registers this incarnation. Overrides
    /// `heartbeat.cleanShutdown`. True by default, the behaviour before the flag existed.
    var cleanShutdown = true

    func run() async throws {
        var lastError: String?
        while !Task.isCancelledOrShuttingDownGracefully {
            do {
                try await send()
                if lastError != nil { logger.info("heartbeats reach the controller again") }
                lastError = nil
            } catch {
                let message = "\(error)"
                if message != lastError { logger.warning("heartbeat failed: \(message)") }
                lastError = message
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    /// One heartbeat (internal for tests; `run` repeats it).
    func send() async throws {
        var heartbeat = self.heartbeat
        heartbeat.cleanShutdown = cleanShutdown
        if await controller.isActive {
            _ = await controller.heartbeat(heartbeat)
            return
        }
        guard let id = view.current.controllerID, let address = voters[id] else { return }
        let answer = try await client.call(BrokerHeartbeatRequest(
            nodeID: heartbeat.nodeID, incarnation: heartbeat.incarnation,
            clientHost: heartbeat.clientEndpoint.host, clientPort: Int32(heartbeat.clientEndpoint.port),
            interNodeHost: heartbeat.interNodeEndpoint.host, interNodePort: Int32(heartbeat.interNodeEndpoint.port),
            cleanShutdown: heartbeat.cleanShutdown), to: address)
        if answer.errorCode != 0 && answer.errorCode != KafkaErrorCode.notController.rawValue {
            logger.warning("controller refused the heartbeat: \(KafkaErrorCode(rawValue: answer.errorCode).map { "\($0)" } ?? "\(answer.errorCode)")")
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDownGracefully: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
