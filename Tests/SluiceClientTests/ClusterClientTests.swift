import Foundation
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceWire

@Suite("ClusterClient against real nodes", .serialized)
struct ClusterClientTests {
    @Test func metadataFromASingleNodeNamesItAsBrokerAndController() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let client = try await cluster.client()
            let metadata = try await client.metadata(refresh: true)
            #expect(metadata.brokers.keys.sorted() == [NodeID(1)])
            #expect(metadata.brokers[NodeID(1)]?.address == cluster.nodes[0].bootstrap)
            #expect(metadata.controllerID == NodeID(1))
            await client.close()
        }
    }

    @Test func bootstrapSkipsDeadAddressesAndFindsEveryBroker() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            // The first two bootstrap addresses refuse connections; the third answers.
            let client = try await cluster.client { configuration in
                configuration.bootstrap = ["127.0.0.1:1", "127.0.0.9:9", cluster.nodes[2].bootstrap]
                configuration.connectTimeout = .seconds(2)
            }
            let metadata = try await client.metadata(refresh: true)
            #expect(metadata.brokers.keys.sorted() == [NodeID(1), NodeID(2), NodeID(3)])
            #expect(metadata.controllerID != nil)
            await client.close()
        }
    }

    @Test func unreachableBootstrapIsAClearError() async throws {
        var configuration = ClientConfiguration(bootstrap: ["127.0.0.1:1"])
        configuration.connectTimeout = .seconds(2)
        do {
            _ = try await SluiceClient(configuration: configuration)
            Issue.record("a client with no reachable node was made")
        } catch {
            guard case .noNodeReachable(let attempts) = error else {
                Issue.record("expected noNodeReachable, got \(error)")
                return
            }
            #expect(attempts.count == 1)
            #expect(error.description.contains("127.0.0.1:1"))
            #expect(error.description.contains("check the bootstrap addresses"))
        }
    }

    @Test func invalidConfigurationNamesEveryProblem() async throws {
        var configuration = ClientConfiguration(bootstrap: ["no-port", ""])
        configuration.inFlightRequestsMax = 0
        do {
            _ = try await SluiceClient(configuration: configuration)
            Issue.record("an invalid configuration was accepted")
        } catch {
            guard case .invalidConfiguration(let problems) = error else {
                Issue.record("expected invalidConfiguration, got \(error)")
                return
            }
            #expect(problems.count == 3)
        }
    }
}
