import SluiceCore
import SluiceMetadata
import SluiceWire

/// The group requests as the Kafka handlers call them: version-neutral inputs in, the core's
/// outcome (or why the core did not take the request) out.
extension GroupCoordinatorService {
    func joinGroup(_ input: JoinGroupInput) async -> Result<JoinGroupOutcome, Refusal> {
        await submit { $0.joinGroup(input, token: $1, nowMs: $2, wallMs: $3) }.map { body in
            guard case .join(let outcome) = body else { preconditionFailure("JoinGroup answered with \(body)") }
            return outcome
        }
    }

    func syncGroup(_ input: SyncGroupInput) async -> Result<SyncGroupOutcome, Refusal> {
        await submit { $0.syncGroup(input, token: $1, nowMs: $2, wallMs: $3) }.map { body in
            guard case .sync(let outcome) = body else { preconditionFailure("SyncGroup answered with \(body)") }
            return outcome
        }
    }

    func leaveGroup(_ input: LeaveGroupInput) async -> Result<LeaveGroupOutcome, Refusal> {
        await submit { $0.leaveGroup(input, token: $1, nowMs: $2, wallMs: $3) }.map { body in
            guard case .leave(let outcome) = body else { preconditionFailure("LeaveGroup answered with \(body)") }
            return outcome
        }
    }

    func commitOffsets(_ input: OffsetCommitInput) async -> Result<OffsetCommitOutcome, Refusal> {
        await submit { $0.commitOffsets(input, token: $1, nowMs: $2, wallMs: $3) }.map { body in
            guard case .commit(let outcome) = body else { preconditionFailure("OffsetCommit answered with \(body)") }
            return outcome
        }
    }

    /// DeleteGroups: answered once the groups' removal has committed.
    func deleteGroups(_ groupIDs: [String]) async -> Result<[DeleteGroupOutcome], Refusal> {
        await submit { core, token, _, _ in core.deleteGroups(groupIDs, token: token) }.map { body in
            guard case .deleteGroups(let outcomes) = body else { preconditionFailure("DeleteGroups answered with \(body)") }
            return outcomes
        }
    }

    /// OffsetDelete: answered once the offsets' removal has committed.
    func deleteOffsets(_ groupID: String, _ partitions: [OffsetDeletePartition]) async -> Result<OffsetDeleteOutcome, Refusal> {
        await submit { core, token, _, _ in core.deleteOffsets(groupID, partitions, token: token) }.map { body in
            guard case .offsetDelete(let outcome) = body else { preconditionFailure("OffsetDelete answered with \(body)") }
            return outcome
        }
    }

    /// Answered at once: heartbeats stay in memory (DESIGN §2.4).
    func heartbeat(_ input: HeartbeatInput) -> Result<KafkaErrorCode, Refusal> {
        inspect { core, now in core.heartbeat(input, nowMs: now) }
    }

    func describeGroup(_ groupID: String) -> Result<GroupDescription, Refusal> {
        inspect { core, _ in core.describeGroup(groupID) }
    }

    func listGroups() -> Result<[GroupListing], Refusal> {
        inspect { core, _ in core.listGroups() }
    }

    /// The group's committed offsets as the image holds them (everything that committed);
    /// empty for a group without any. Only the active coordinator answers.
    func committedOffsets(_ groupID: String) -> Result<[TopicPartition: CommittedOffset], Refusal> {
        guard core != nil else { return .failure(refusal()) }
        return .success(view.current.image.groups[groupID]?.offsets ?? [:])
    }
}
