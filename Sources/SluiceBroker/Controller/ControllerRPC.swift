import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceWire

/// The controller's side of the broker RPCs (`broker.wire`): heartbeats, forwarded admin
/// requests, producer-id blocks, partition leaders' ISR changes (AlterPartition) and reports of
/// replicas with a damaged log (ReplicaDamaged). A node
/// that is not the controller answers NOT_CONTROLLER, and the caller retries against the leader
/// it learns from Raft.
enum ControllerRPC {
    static func register(in registry: inout InterNodeHandlerRegistry, controller: ControllerService) {
        registry.register(apiKeys: [BrokerHeartbeatRequest.apiKey]) { request in
            let heartbeat = try BrokerHeartbeatRequest.decode(exactly: request.body, version: request.header.apiVersion)
            let result = await controller.heartbeat(BrokerHeartbeat(
                nodeID: heartbeat.nodeID, incarnation: heartbeat.incarnation,
                clientEndpoint: BrokerEndpoint(host: heartbeat.clientHost, port: UInt16(clamping: heartbeat.clientPort)),
                interNodeEndpoint: BrokerEndpoint(host: heartbeat.interNodeHost, port: UInt16(clamping: heartbeat.interNodePort)),
                cleanShutdown: heartbeat.cleanShutdown, wantShutDown: heartbeat.wantShutDown))
            let response = BrokerHeartbeatResponse(errorCode: (result?.error ?? .notController).rawValue,
                                                   isFenced: result?.isFenced ?? true, shouldShutDown: result?.shouldShutDown ?? false)
            return ResponseEncoder.encode(response, answering: request.header)
        }
        registry.register(apiKeys: [SluiceWire.AlterPartitionRequest.apiKey]) { request in
            let alter = try SluiceWire.AlterPartitionRequest.decode(exactly: request.body, version: 0)
            let response: AlterPartitionResponse
            if let decision = alter.decision {
                response = AlterPartitionResponse(await controller.alterPartition(decision), nodeID: controller.nodeID)
            } else {
                response = AlterPartitionResponse(errorCode: KafkaErrorCode.invalidTopicException.rawValue,
                                                  errorMessage: "'\(alter.topic)' is not a valid topic name")
            }
            return ResponseEncoder.encode(response, answering: request.header)
        }
        registry.register(apiKeys: [ReplicaDamagedRequest.apiKey]) { request in
            let damaged = try ReplicaDamagedRequest.decode(exactly: request.body, version: 0)
            let response: ReplicaDamagedResponse
            if let report = damaged.report {
                response = ReplicaDamagedResponse(await controller.replicaDamaged(report), nodeID: controller.nodeID)
            } else {
                response = ReplicaDamagedResponse(errorCode: KafkaErrorCode.invalidTopicException.rawValue,
                                                  errorMessage: "'\(damaged.topic)' is not a valid topic name")
            }
            return ResponseEncoder.encode(response, answering: request.header)
        }
        registry.register(apiKeys: [ControllerForwardRequest.apiKey]) { request in
            let forward = try ControllerForwardRequest.decode(exactly: request.body, version: 0)
            let response: ControllerForwardResponse
            if await !controller.isActive {
                response = ControllerForwardResponse(errorCode: KafkaErrorCode.notController.rawValue)
            } else {
                response = try await answer(forward, controller: controller)
            }
            return ResponseEncoder.encode(response, answering: request.header)
        }
        registry.register(apiKeys: [AllocateProducerIdsRequest.apiKey]) { request in
            _ = try AllocateProducerIdsRequest.decode(exactly: request.body, version: 0)
            let block = await controller.allocateProducerIDBlock()
            let response = block.map { AllocateProducerIdsResponse(errorCode: 0, firstProducerID: ProducerID($0.lowerBound), count: Int32($0.count)) }
                ?? AllocateProducerIdsResponse(errorCode: KafkaErrorCode.notController.rawValue, firstProducerID: .none, count: 0)
            return ResponseEncoder.encode(response, answering: request.header)
        }
    }

    private static func answer(_ forward: ControllerForwardRequest, controller: ControllerService) async throws -> ControllerForwardResponse {
        let body = ByteBuffer(bytes: forward.body)
        var out = ByteBufferAllocator().buffer(capacity: 128)
        switch forward.apiKey {
        case CreateTopicsRequest.apiKey:
            let request = try CreateTopicsRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.createTopics(request).encode(into: &out, version: forward.apiVersion)
        case DeleteTopicsRequest.apiKey:
            let request = try DeleteTopicsRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.deleteTopics(request).encode(into: &out, version: forward.apiVersion)
        case CreatePartitionsRequest.apiKey:
            let request = try CreatePartitionsRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.createPartitions(request).encode(into: &out, version: forward.apiVersion)
        case AlterConfigsRequest.apiKey:
            let request = try AlterConfigsRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.alterConfigs(request).encode(into: &out, version: forward.apiVersion)
        case ElectLeadersRequest.apiKey:
            let request = try ElectLeadersRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.electLeaders(request).encode(into: &out, version: forward.apiVersion)
        case IncrementalAlterConfigsRequest.apiKey:
            let request = try IncrementalAlterConfigsRequest.decode(exactly: body, version: forward.apiVersion)
            await controller.incrementalAlterConfigs(request).encode(into: &out, version: forward.apiVersion)
        default:
            return ControllerForwardResponse(errorCode: KafkaErrorCode.invalidRequest.rawValue)
        }
        return ControllerForwardResponse(errorCode: 0, body: Array(out.readableBytesView))
    }
}
