@testable import SluiceBroker
import SluiceCore
import SluiceMetadata
import SluiceWire
import Testing

@Suite struct MetadataHandlerTests {
    /// Replicas [1, 2, 3]: broker 2 is fenced and broker 3 never registered, so both are
    /// offline; the ISR has shrunk to the leader.
    @Test func aPartitionReportsReplicasISRAndItsOfflineReplicas() {
        let state = PartitionState(replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 4, partitionEpoch: 6)
        let answer = MetadataHandler.answer(for: state, index: 2, isUnfenced: { $0 == 1 })
        #expect(answer.errorCode == 0)
        #expect(answer.partitionIndex == 2 && answer.leaderID == 1 && answer.leaderEpoch == 4)
        #expect(answer.replicaNodes == [1, 2, 3])
        #expect(answer.isrNodes == [1])
        #expect(answer.offlineReplicas == [2, 3])
    }

    @Test func aLeaderlessPartitionIsLeaderNotAvailableWithEveryReplicaOffline() {
        let state = PartitionState(replicas: [2, 3], isr: [2], leader: .none, leaderEpoch: 9, partitionEpoch: 9)
        let answer = MetadataHandler.answer(for: state, index: 0, isUnfenced: { _ in false })
        #expect(answer.errorCode == KafkaErrorCode.leaderNotAvailable.rawValue)
        #expect(answer.leaderID == .none && answer.leaderEpoch == 9)
        #expect(answer.offlineReplicas == [2, 3])
    }
}
