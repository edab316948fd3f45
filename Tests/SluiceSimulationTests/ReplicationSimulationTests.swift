import SluiceSimulation
import Testing

@Suite("Replication simulation")
struct ReplicationSimulationTests {
    @Test func placeholder() {}
}
