import Logging
import ServiceLifecycle
import SluiceCore

/// Follows the metadata log's leadership: publishes who the controller is, activates the
/// controller on this node when it leads and deactivates it when it stops leading, ticks it
/// (fencing brokers whose leases expired), and on graceful shutdown hands leadership over so
/// the cluster does not wait an election timeout for a new controller. The group coordinator
/// follows the controller: activated once the controller is (so the image it loads holds every
/// earlier entry), deactivated first when leadership goes, and re-activated by the tick if it
/// dropped itself after a failed proposal while this node still leads.
struct ControllerRunner: Service {
    let nodeID: NodeID
    let driver: RaftDriver
    let controller: ControllerService
    let groups: GroupCoordinatorService
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
                            if await controller.isActive { await groups.activate() }
                        } else {
                            await groups.deactivate()
                            await controller.deactivate()
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: tickInterval) } catch { return }
                        if await controller.isActive {
                            await controller.tick()
                            if await !groups.isActive { await groups.activate() }
                        }
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
