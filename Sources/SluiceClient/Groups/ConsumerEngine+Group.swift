import SluiceCore
import SluiceWire

/// Group membership: a background task performs the `GroupMembership` state machine's actions
/// (JoinGroup v5, SyncGroup v3, Heartbeat v3 on the consumer's own group connection; commits,
/// OffsetFetch and LeaveGroup on the shared one) and applies the assignments to the consumer.
extension ConsumerEngine {
    func subscribe(to topics: [TopicName]) async throws(SluiceClientError) {
        try validate()
        guard options.groupID != nil else {
            throw .invalidArgument("subscribing needs ConsumerOptions.groupID; or assign partitions instead")
        }
        guard !topics.isEmpty else { throw .invalidArgument("subscribe to at least one topic") }
        guard membership != nil || partitions.isEmpty else {
            throw .invalidArgument("this consumer has assigned partitions; subscribe on another consumer")
        }
        subscription = Array(Set(topics)).sorted()
        if var current = membership {
            pendingGroupActions += current.join()  // a new subscription needs a new assignment
            membership = current
            return
        }
        var configuration = cluster.configuration
        configuration.requestTimeout = max(configuration.requestTimeout, options.rebalanceTimeout + .seconds(5))
        groupCluster = try ClusterClient(configuration: configuration)
        membership = GroupMembership(rebalanceProtocol: options.rebalanceProtocol, groupInstanceID: options.groupInstanceID)
        // The root of the membership: runs until the consumer closes or the group fails it.
        groupTask = Task { await self.runGroup() }
    }

    /// Performs the membership's actions in order; heartbeats while stable with nothing to do.
    func runGroup() async {
        var actions = mutateMembership { $0.join() }
        var lastHeartbeat = ContinuousClock.now
        while !isClosed, !Task.isCancelled, let phase = membership?.phase, phase != .left, phase != .failed {
            actions += pendingGroupActions
            pendingGroupActions = []
            guard !actions.isEmpty else {
                if phase == .stable {
                    actions = await heartbeat(after: &lastHeartbeat)
                } else {
                    actions = mutateMembership { $0.join() }
                }
                continue
            }
            let action = actions.removeFirst()
            if case .startHeartbeats = action { lastHeartbeat = .now }
            actions += await perform(action)
        }
    }

    private func mutateMembership(_ body: (inout GroupMembership) -> [GroupAction]) -> [GroupAction] {
        guard var current = membership else { return [] }
        let actions = body(&current)
        membership = current
        return actions
    }

    /// Waits for the next heartbeat time (or earlier work), then heartbeats.
    private func heartbeat(after last: inout ContinuousClock.Instant) async -> [GroupAction] {
        let due = last + options.heartbeatInterval
        while ContinuousClock.now < due {
            if isClosed || Task.isCancelled || !pendingGroupActions.isEmpty { return [] }
            try? await Task.sleep(for: min(.milliseconds(100), due - .now))
        }
        guard let current = membership, current.phase == .stable, let groupID = options.groupID else { return [] }
        last = .now
        let request = HeartbeatRequest(
            groupID: groupID, generationID: current.generation, memberID: current.memberID,
            groupInstanceID: options.groupInstanceID)
        do throws(SluiceClientError) {
            let response = try await sendToCoordinator(request, maxVersion: 3)
            return mutateMembership { $0.heartbeatAnswered(.from(response.errorCode), generation: current.generation) }
        } catch {
            return await unreachable()
        }
    }

    /// Sends a group request on the group connection to the group's coordinator.
    private func sendToCoordinator<R: APIRequest>(_ request: R, maxVersion: Int16) async throws(SluiceClientError) -> R.Response {
        guard let groupCluster, let groupID = options.groupID else { throw .closed }
        let node = try await groupCluster.coordinator(forGroup: groupID)
        return try await groupCluster.send(request, to: node, maxVersion: maxVersion)
    }

    private func unreachable() async -> [GroupAction] {
        try? await Task.sleep(for: cluster.configuration.retryBackoff)
        return mutateMembership { $0.coordinatorUnreachable() }
    }

    /// Performs one action; returns the actions its outcome leads to.
    func perform(_ action: GroupAction) async -> [GroupAction] {
        let groupID = options.groupID ?? ""
        switch action {
        case .sendJoin(let memberID, let owned, let generation):
            let protocols = options.assignors.map { assignor in
                JoinGroupRequest.JoinGroupRequestProtocol(
                    name: assignor.name,
                    metadata: ConsumerProtocolCodec.encodeSubscription(
                        topics: subscription, ownedPartitions: owned, generation: generation,
                        userData: assignor.subscriptionUserData(generation: generation)))
            }
            let request = JoinGroupRequest(
                groupID: groupID, sessionTimeoutMs: options.sessionTimeout.milliseconds32,
                rebalanceTimeoutMs: options.rebalanceTimeout.milliseconds32, memberID: memberID,
                groupInstanceID: options.groupInstanceID, protocolType: ConsumerProtocolCodec.protocolType,
                protocols: protocols)
            guard let response = try? await sendToCoordinator(request, maxVersion: 5) else { return await unreachable() }
            let result = GroupJoinResult(
                errorCode: .from(response.errorCode), memberID: response.memberID, generation: response.generationID,
                protocolName: response.protocolName, leaderID: response.leader,
                members: response.members.map {
                    GroupJoinMember(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata)
                })
            return mutateMembership { $0.joined(result) }
        case .computeAssignment(let protocolName, let members):
            let assignments = await computeAssignment(protocolName: protocolName, members: members)
            return mutateMembership { $0.leaderAssigned(assignments) }
        case .sendSync(let generation, let memberID, let assignments):
            let request = SyncGroupRequest(
                groupID: groupID, generationID: generation, memberID: memberID, groupInstanceID: options.groupInstanceID,
                assignments: assignments.sorted { $0.key < $1.key }.map { .init(memberID: $0.key, assignment: $0.value) })
            guard let response = try? await sendToCoordinator(request, maxVersion: 3) else { return await unreachable() }
            let assigned = (try? ConsumerProtocolCodec.decodeAssignment(response.assignment)) ?? []
            return mutateMembership { $0.synced(.from(response.errorCode), assignment: assigned) }
        case .revoke(let list):
            var offsets: [TopicPartition: Offset] = [:]
            for partition in list { offsets[partition] = removePartition(partition) }
            if options.commitPolicy != .manual {
                try? await commit(offsets.filter { lastCommitted[$0.key] != $0.value }, notifyGroup: false)
            }
            return []
        case .lose(let list):
            for partition in list { removePartition(partition) }
            return []
        case .assigned(let list):
            for partition in list { addPartition(partition, from: .committed) }
            return []
        case .findCoordinator:
            await groupCluster?.forgetCoordinator(forGroup: groupID)
            await cluster.forgetCoordinator(forGroup: groupID)
            try? await Task.sleep(for: cluster.configuration.retryBackoff)
            return []
        case .startHeartbeats:
            return []
        case .sendLeave(let memberID):
            let request = LeaveGroupRequest(
                groupID: groupID, memberID: memberID,
                members: [.init(memberID: memberID, groupInstanceID: options.groupInstanceID)])
            _ = try? await withCoordinator(api: .leaveGroup) { node throws(SluiceClientError) in
                let answer = try await cluster.send(request, to: node, maxVersion: 3)
                return (answer, KafkaErrorCode.from(answer.errorCode))
            }
            return []
        case .fail(let code):
            fatal = .server(code, api: .joinGroup, resource: "group \(groupID)",
                            message: "the consumer cannot stay in the group")
            return []
        }
    }

    /// The leader's assignment: each member's subscription decoded, the subscribed topics'
    /// partition counts read fresh, the chosen assignor run, each answer encoded at no higher
    /// version than the member's subscription. A member whose metadata does not decode gets
    /// nothing (its partitions go to the others).
    private func computeAssignment(protocolName: String, members: [GroupJoinMember]) async -> [String: [UInt8]] {
        let subscriptions = members.compactMap {
            try? ConsumerProtocolCodec.decodeSubscription(
                memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata)
        }
        let topics = Set(subscriptions.flatMap(\.topics)).sorted()
        var counts: [TopicName: Int32] = [:]
        if let metadata = try? await cluster.metadata(topics: topics, refresh: true) {
            for topic in topics { if let count = metadata.partitionCount(of: topic) { counts[topic] = Int32(count) } }
        }
        let assignor = options.assignors.first { $0.name == protocolName }
        let assignment = assignor?.assign(partitionCounts: counts, members: subscriptions) ?? [:]
        var result: [String: [UInt8]] = [:]
        for member in members {
            let version = subscriptions.first { $0.memberID == member.memberID }?.subscriptionVersion ?? 0
            result[member.memberID] = ConsumerProtocolCodec.encodeAssignment(assignment[member.memberID] ?? [], version: version)
        }
        return result
    }

    /// Revokes (committing unless the policy is manual) and leaves the group; used by `close`.
    func leaveGroup() async {
        groupTask?.cancel()
        for action in mutateMembership({ $0.leave() }) { _ = await perform(action) }
    }
}
