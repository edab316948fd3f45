import Logging
import ServiceLifecycle
import SluiceCore

/// Follows the metadata log's leadership: publishes who the controller is, activates the
/// controller on this node when it leads and deactivates it when it stops leading, ticks it
/// (fencing brokers whose leases expired), and on graceful shutdown hands leadership over so
/// the cluster does not wait an election timeout for a new controller. The group coordinator
/// follows the controller: activated once the controller is (so the image it loads holds every
/// earlier entry), deactivated first when leadership goes. Either may drop itself after a
/// failed proposal while this node still leads; no leadership change follows then, so the tick
/// activates them again.
struct ControllerRunner: Service {
    let nodeID: NodeID
    let driver: any MetadataLeadership
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
                        await tick()
                    }
                }
                // Runs until graceful shutdown (or cancellation), then ends both loops.
                try? await gracefulShutdown()
                group.cancelAll()
        }
        if await driver.isLeader {
            do {
                try await driver.handOverLeadership()
                logger.info("handed metadata leadership over before shutting down")
            } catch {
                logger.info("no leadership transfer on shutdown: \(error)")
            }
        }
    }

    /// One tick: re-activates a controller that dropped itself while this node still leads
    /// (the coordinator follows it), then fences brokers whose leases expired.
    func tick() async {
        if await !controller.isActive {
            guard await driver.isLeader else { return }
            await controller.activate()
            guard await controller.isActive else { return }
            logger.info("controller re-activated: it had stopped after a failed proposal while this node still leads")
        }
        await controller.tick()
        if await !groups.isActive { await groups.activate() }
    }
}
