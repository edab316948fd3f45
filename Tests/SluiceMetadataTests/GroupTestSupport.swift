import SluiceCore
import SluiceWire
import Testing

@testable import SluiceMetadata

/// Drives a `GroupCoordinator` like the broker does: every output's records are applied to
/// an image at once (as if they committed), replies are kept by token.
struct GroupHarness {
    var coordinator: GroupCoordinator
    var image: MetadataImage
    var nowMs: Int64 = 0
    var wallMs: Int64 { 1_000_000 + nowMs }
    var nextToken: GroupRequestToken = 1
    /// Every record written, in order.
    var records: [MetadataRecord] = []
    var replies: [GroupRequestToken: GroupReplyBody] = [:]

    static func options(delayMs: Int32 = 0) -> GroupOptions {
        var options = GroupOptions()
        options.initialRebalanceDelayMs = delayMs
        options.minSessionTimeoutMs = 1_000
        return options
    }

    init(options: GroupOptions = GroupHarness.options(), image: MetadataImage = .empty) {
        coordinator = GroupCoordinator(image: image, options: options, nowMs: 0, seed: 7)
        self.image = image
    }

    /// Applies an output's records to the image (failing the test on a refused record) and
    /// files its replies; returns the records.
    @discardableResult
    mutating func absorb(_ output: GroupOutput, sourceLocation: SourceLocation = #_sourceLocation) -> [MetadataRecord] {
        for record in output.records {
            do { try image.apply(record) } catch { Issue.record("record refused: \(error)", sourceLocation: sourceLocation) }
        }
        records += output.records
        for reply in output.replies {
            #expect(replies[reply.token] == nil, "token \(reply.token) answered twice", sourceLocation: sourceLocation)
            replies[reply.token] = reply.body
        }
        return output.records
    }

    mutating func token() -> GroupRequestToken {
        defer { nextToken += 1 }
        return nextToken
    }

    static func joinInput(
        group: String = "g", member: String = "", instance: String? = nil, client: String = "client",
        protocols: [(String, [UInt8])] = [("range", [1])], type: String = "consumer", sessionMs: Int32 = 10_000,
        rebalanceMs: Int32 = 20_000, v4: Bool = true
    ) -> JoinGroupInput {
        JoinGroupInput(
            groupID: group, memberID: member, groupInstanceID: instance, protocolType: type,
            protocols: protocols.map { GroupProtocol(name: $0.0, metadata: $0.1) }, sessionTimeoutMs: sessionMs,
            rebalanceTimeoutMs: rebalanceMs, clientID: client, clientHost: "/127.0.0.1", requireKnownMemberID: v4)
    }

    /// Sends a JoinGroup; returns its token.
    @discardableResult
    mutating func join(_ input: JoinGroupInput) -> GroupRequestToken {
        let t = token()
        absorb(coordinator.joinGroup(input, token: t, nowMs: nowMs, wallMs: wallMs))
        return t
    }

    @discardableResult
    mutating func sync(
        _ member: String, generation: GenerationID, group: String = "g", instance: String? = nil,
        assignments: [String: [UInt8]] = [:]
    ) -> GroupRequestToken {
        let t = token()
        let input = SyncGroupInput(
            groupID: group, generationID: generation, memberID: member, groupInstanceID: instance,
            assignments: assignments.keys.sorted().map { SyncGroupAssignment(memberID: $0, assignment: assignments[$0]!) })
        absorb(coordinator.syncGroup(input, token: t, nowMs: nowMs, wallMs: wallMs))
        return t
    }

    mutating func heartbeat(_ member: String, generation: GenerationID, group: String = "g", instance: String? = nil) -> KafkaErrorCode {
        coordinator.heartbeat(
            HeartbeatInput(groupID: group, generationID: generation, memberID: member, groupInstanceID: instance), nowMs: nowMs)
    }

    mutating func leave(_ members: [LeaveGroupMember], group: String = "g") -> LeaveGroupOutcome? {
        let t = token()
        absorb(coordinator.leaveGroup(LeaveGroupInput(groupID: group, members: members), token: t, nowMs: nowMs, wallMs: wallMs))
        guard case .leave(let outcome) = replies[t] else { return nil }
        return outcome
    }

    mutating func commit(
        _ member: String, generation: GenerationID, group: String = "g", instance: String? = nil,
        partitions: [OffsetCommitPartition] = [OffsetCommitPartition(topic: "t", partition: 0, offset: 10)]
    ) -> [KafkaErrorCode]? {
        let t = token()
        let input = OffsetCommitInput(
            groupID: group, generationID: generation, memberID: member, groupInstanceID: instance, partitions: partitions)
        absorb(coordinator.commitOffsets(input, token: t, nowMs: nowMs, wallMs: wallMs))
        guard case .commit(let outcome) = replies[t] else { return nil }
        return outcome.errorCodes
    }

    /// Advances time to `ms` and ticks.
    @discardableResult
    mutating func advance(to ms: Int64) -> [MetadataRecord] {
        nowMs = ms
        return absorb(coordinator.tick(nowMs: nowMs, wallMs: wallMs))
    }

    func joinReply(_ token: GroupRequestToken) -> JoinGroupOutcome? {
        guard case .join(let outcome) = replies[token] else { return nil }
        return outcome
    }

    func syncReply(_ token: GroupRequestToken) -> SyncGroupOutcome? {
        guard case .sync(let outcome) = replies[token] else { return nil }
        return outcome
    }

    /// A v4+ member joining for the first time: MEMBER_ID_REQUIRED, then the join with the
    /// given id (parked or answered). Returns the member id and the second join's token.
    mutating func joinNew(_ input: JoinGroupInput = joinInput()) -> (member: String, token: GroupRequestToken) {
        let first = join(input)
        let id = joinReply(first)?.memberID ?? ""
        var again = input
        again.memberID = id
        return (id, join(again))
    }

    /// Brings `count` members into a Stable group "g" (the next generation); returns their
    /// ids, leader first. All first joins come before the second ones, so the outstanding
    /// member ids hold the join phase open until the last member is in.
    mutating func stableGroup(_ count: Int, sessionMs: Int32 = 10_000) -> [String] {
        var inputs: [JoinGroupInput] = []
        for i in 0..<count {
            var input = Self.joinInput(client: "c\(i)", sessionMs: sessionMs)
            input.memberID = joinNow(input)?.memberID ?? ""
            inputs.append(input)
        }
        let tokens = inputs.map { join($0) }
        let ids = inputs.map(\.memberID)
        let generation = joinReply(tokens[0])?.generationID ?? .none
        let leader = joinReply(tokens[0])?.leaderID ?? ""
        for id in ids where id != leader { sync(id, generation: generation) }
        sync(leader, generation: generation, assignments: Dictionary(uniqueKeysWithValues: ids.map { ($0, Array($0.utf8.prefix(2))) }))
        return [leader] + ids.filter { $0 != leader }
    }

    var groupState: GroupStateRecord? { image.groups["g"]?.state }
}

extension MetadataRecord {
    var groupState: GroupStateRecord? {
        if case .groupState(let r) = self { return r }
        return nil
    }
}

extension GenerationID {
    var next: GenerationID { GenerationID(rawValue + 1) }
}

extension GroupHarness {
    /// Joins and returns the answer if it came at once.
    mutating func joinNow(_ input: JoinGroupInput) -> JoinGroupOutcome? {
        let t = join(input)
        return joinReply(t)
    }

    /// Syncs and returns the answer if it came at once.
    mutating func syncNow(
        _ member: String, generation: GenerationID, group: String = "g", instance: String? = nil
    ) -> SyncGroupOutcome? {
        let t = sync(member, generation: generation, group: group, instance: instance)
        return syncReply(t)
    }
}
