import Logging
import ServiceLifecycle
import SluiceCore

/// Follows the metadata log's leadership: publishes who the controller is, activates the
/// controller on this node when it leads and deactivates it when it stops leading, ticks it
/// (fencing brokers whose leases expired), and on graceful shutdown hands leadership over so
/// the cluster does not wait an election timeout for a new controller.
struct ControllerRunner: Service {
    let nodeID: NodeID
    let driver: RaftDriver
    let controller: ControllerService
    let view: MetadataView
    let tickInterval: Duration
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
                group.addTask {
                    for await leadership in driver.leadershipChanges {
                        view.publish(controllerID: leadership.leader)
                        if leadership.isLocal {
                            await controller.activate()
                        } else {
                            await controller.deactivate()
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: tickInterval) } catch { return }
                        if await controller.isActive { await controller.tick() }
                    }
                }
                // Runs until graceful shutdown (or cancellation), then ends both loops.
                try? await gracefulShutdown()
                group.cancelAll()
        }
        if await driver.isLeader {
            do {
                try await driver.transferLeadership()
                logger.info("handed metadata leadership over before shutting down")
            } catch {
                logger.info("no leadership transfer on shutdown: \(error)")
            }
        }
    }
}
