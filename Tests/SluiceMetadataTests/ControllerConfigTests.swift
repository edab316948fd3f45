import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

@Suite("Controller: AlterConfigs and IncrementalAlterConfigs")
struct ControllerConfigTests {
    private func controller(with configs: [String: String?] = [:]) -> Controller {
        var controller = Fixture.controller(brokers: 3)
        _ = controller.createTopics([CreateTopicRequest(name: "c", replicationFactor: 3, configs: configs)], validateOnly: false)
        return controller
    }

    private var topic: TopicName { Fixture.topic("c") }

    @Test func incrementalSetAndDeleteChangeOnlyTheNamedKeys() {
        var controller = controller(with: ["retention.ms": "1000", "segment.bytes": "2048"])
        let output = controller.incrementalAlterTopicConfigs(
            "c", [(key: "retention.ms", operation: .set("5000")), (key: "segment.bytes", operation: .delete)], validateOnly: false)
        #expect(output.result == .success)
        #expect(output.records == [
            .config(ConfigRecord(resource: .topic(topic), key: "retention.ms", value: "5000")),
            .config(ConfigRecord(resource: .topic(topic), key: "segment.bytes", value: nil)),
        ])
        #expect(controller.image.topic(named: topic)?.configs == ["retention.ms": "5000"])
    }

    @Test func legacyAlterConfigsResetsEveryOverrideItLeavesOut() {
        var controller = controller(with: ["retention.ms": "1000", "segment.bytes": "2048"])
        let output = controller.replaceTopicConfigs("c", [(key: "min.insync.replicas", value: "2")], validateOnly: false)
        #expect(output.result == .success)
        #expect(controller.image.topic(named: topic)?.configs == ["min.insync.replicas": "2"])
    }

    @Test func validateOnlyChecksEverythingAndWritesNothing() {
        var controller = controller()
        let ok = controller.incrementalAlterTopicConfigs("c", [(key: "retention.ms", operation: .set("10"))], validateOnly: true)
        #expect(ok.result == .success && ok.batches.isEmpty)
        let bad = controller.incrementalAlterTopicConfigs("c", [(key: "retention.ms", operation: .set("soon"))], validateOnly: true)
        #expect(bad.result.error == .invalidConfig && bad.batches.isEmpty)
        #expect(controller.image.topic(named: topic)?.configs == [:])
    }

    @Test func unknownKeysBadValuesAndUnknownTopicsAreRefusedWholesale() {
        var controller = controller()
        let unknown = controller.incrementalAlterTopicConfigs(
            "c", [(key: "retention.ms", operation: .set("10")), (key: "no.such.key", operation: .set("1"))], validateOnly: false)
        #expect(unknown.result.error == .invalidConfig && unknown.batches.isEmpty)
        #expect(unknown.result.message?.contains("no.such.key") == true)
        #expect(controller.incrementalAlterTopicConfigs("missing", [], validateOnly: false).result.error == .unknownTopicOrPartition)
        #expect(controller.replaceTopicConfigs("missing", [], validateOnly: false).result.error == .unknownTopicOrPartition)
        #expect(controller.replaceTopicConfigs("c", [(key: "retention.ms", value: nil)], validateOnly: false).result.error == .invalidConfig)
        let twice = controller.incrementalAlterTopicConfigs(
            "c", [(key: "retention.ms", operation: .set("1")), (key: "retention.ms", operation: .delete)], validateOnly: false)
        #expect(twice.result.error == .invalidRequest)
        #expect(controller.image.topic(named: topic)?.configs == [:])
    }

    @Test func appendAndSubtractApplyOnlyToListConfigs() {
        var controller = controller()
        let append = controller.incrementalAlterTopicConfigs("c", [(key: "cleanup.policy", operation: .append("delete"))], validateOnly: false)
        #expect(append.result == .success)
        #expect(controller.image.topic(named: topic)?.configs["cleanup.policy"] == "delete")
        // Subtracting the only policy leaves an empty list, which is not a valid cleanup.policy.
        let subtract = controller.incrementalAlterTopicConfigs("c", [(key: "cleanup.policy", operation: .subtract("delete"))], validateOnly: false)
        #expect(subtract.result.error == .invalidConfig)
        let scalar = controller.incrementalAlterTopicConfigs("c", [(key: "retention.ms", operation: .append("5"))], validateOnly: false)
        #expect(scalar.result.error == .invalidConfig)
    }

    @Test func wireOperationIDsAreKafkas() {
        #expect(ConfigOperation(wireID: 0, value: "1") == .set("1"))
        #expect(ConfigOperation(wireID: 1, value: nil) == .delete)
        #expect(ConfigOperation(wireID: 2, value: "a") == .append("a"))
        #expect(ConfigOperation(wireID: 3, value: "a") == .subtract("a"))
        #expect(ConfigOperation(wireID: 4, value: nil) == nil)
    }

    @Test func brokerConfigsAreReadOnlyAndNamedByRegisteredID() {
        let controller = controller()
        #expect(controller.alterBrokerConfigs("1", keys: []).result == .success)
        #expect(controller.alterBrokerConfigs("1", keys: ["log.segment.bytes"]).result.error == .invalidConfig)
        #expect(controller.alterBrokerConfigs("", keys: ["log.segment.bytes"]).result.message?.contains("read-only") == true)
        #expect(controller.alterBrokerConfigs("1", keys: ["made.up"]).result.message?.contains("unknown") == true)
        #expect(controller.alterBrokerConfigs("99", keys: ["num.partitions"]).result.error == .invalidRequest)
        #expect(controller.alterBrokerConfigs("one", keys: []).result.error == .invalidRequest)
    }
}
