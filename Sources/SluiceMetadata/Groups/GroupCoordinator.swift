import SluiceCore
import SluiceWire

/// The consumer-group coordinator (classic protocol, CLIENTS.md §4): a pure state machine
/// that the controller's group service drives (DESIGN §2.4). No clock, no I/O: callers pass
/// `nowMs` (monotonic, for timers) and `wallMs` (for record timestamps and offsets
/// retention); member ids come from a seeded generator.
///
/// Driver contract (the full text is `Groups/README.md`):
/// 1. Build it from the committed image once the controller has activated (its own first
///    entry committed, so the image holds every earlier commit).
/// 2. Feed requests and `tick`; propose each output's `records` as one metadata-log entry,
///    strictly in output order, and send its `replies` once that entry (and every earlier
///    one) has committed. Outputs without records still wait for earlier entries.
/// 3. If a proposal fails or leadership is lost, drop the coordinator and answer every
///    pending request NOT_COORDINATOR: its memory assumes records that may never commit.
public struct GroupCoordinator: Sendable {
    /// The largest `GroupOptions.maxGroupSize` accepted.
    public static let groupSizeLimit = 10_000
    /// Longest string a request may carry (group, member, instance and client ids, host,
    /// protocol names): longer ones get INVALID_GROUP_ID (group id) or INVALID_REQUEST.
    public static let stringBytesMax = 16_384
    /// Most protocols one JoinGroup may list.
    public static let protocolsMax = 64
    /// Budget for a group's members and subscriptions in its state record, and separately
    /// for its assignments, so the record stays well inside one metadata-log entry.
    public static let groupRecordPartBytesMax = 256 * 1024
    /// Kafka's `offset.metadata.max.bytes`.
    public static let offsetMetadataBytesMax = 4_096

    public let options: GroupOptions
    var groups: [String: ClassicGroup]
    var random: SplitMix64
    /// `wallMs - nowMs` at the last call that passed both, to place retention deadlines on
    /// the monotonic clock for `nextDeadlineMs`.
    var wallOffsetMs: Int64
    /// For the simulator's checker self-test only: a deliberate bug.
    @_spi(Testing) public var injectedBug: GroupCoordinatorBug = .none

    /// Rebuilds every group from the committed image; every member gets a fresh session timer.
    /// - Parameter seed: randomness for generated member ids. It is mixed with the image's
    ///   last applied index, so successive coordinators (each built after its own leader
    ///   entry) never repeat a sequence even with the same seed.
    public init(image: MetadataImage, options: GroupOptions, nowMs: Int64, seed: UInt64 = 0) {
        precondition(options.validate().isEmpty, "invalid group options: \(options.validate())")
        self.options = options
        random = SplitMix64(seed: seed ^ (image.lastAppliedIndex.rawValue &* 0xD1B5_4A32_D192_ED03))
        wallOffsetMs = 0
        groups = [:]
        for (id, group) in image.groups {
            groups[id] = ClassicGroup(state: group.state, lastCommitWallMs: group.lastCommitWallMs, nowMs: nowMs)
        }
    }

    /// The earliest `nowMs` at which `tick` has something to do (nil: nothing pending).
    public var nextDeadlineMs: Int64? {
        var earliest: Int64?
        func consider(_ deadline: Int64?) {
            if let deadline, deadline < earliest ?? .max { earliest = deadline }
        }
        for group in groups.values {
            for member in group.members where !member.isParked { consider(member.sessionDeadlineMs) }
            for pending in group.pending { consider(pending.deadlineMs) }
            if group.status == .preparingRebalance { consider(group.joinDeadlineMs) }
            if !group.pendingSync.isEmpty { consider(group.syncDeadlineMs) }
            if let wall = group.retentionDeadlineWallMs(retentionMs: options.offsetsRetentionMs) {
                consider(wall.subtractingClamped(wallOffsetMs))
            }
        }
        return earliest
    }

    /// DescribeGroups for one group. An unknown group is "Dead" with no error, as Kafka.
    public func describeGroup(_ groupID: String) -> GroupDescription {
        guard let group = groups[groupID] else {
            return GroupDescription(
                groupID: groupID, errorCode: .none, state: "Dead", protocolType: "", protocolName: "", members: [])
        }
        let stable = group.status == .stable
        let name = group.protocolName ?? ""
        return GroupDescription(
            groupID: groupID, errorCode: .none, state: group.status.kafkaName, protocolType: group.protocolType,
            protocolName: stable ? name : "",
            members: group.members.map {
                GroupMemberDescription(
                    memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, clientID: $0.clientID,
                    clientHost: $0.clientHost, metadata: stable ? $0.metadata(for: name) ?? [] : [],
                    assignment: stable ? $0.assignment ?? [] : [])
            })
    }

    /// ListGroups: every group, by id.
    public func listGroups() -> [GroupListing] {
        groups.keys.sorted().map { id in
            let group = groups[id]!
            return GroupListing(groupID: id, protocolType: group.protocolType, state: group.status.kafkaName)
        }
    }

    /// `clientID + "-" + a UUID`, as Kafka, unique in the group.
    mutating func newMemberID(clientID: String, in group: ClassicGroup) -> String {
        while true {
            var high = random.next()
            var low = random.next()
            high = (high & ~0xF000) | 0x4000  // version 4
            low = (low & ~(0xC << 60)) | (0x8 << 60)  // IETF variant
            let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
            let chars = Array(hex)
            let uuid = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
            let id = clientID + "-" + uuid
            if group.index(of: id) == nil && !group.pending.contains(where: { $0.memberID == id }) { return id }
        }
    }

    mutating func noteClocks(nowMs: Int64, wallMs: Int64) {
        wallOffsetMs = wallMs.subtractingClamped(nowMs)
    }
}

/// Deliberate coordinator bugs, so the simulator can prove its checker catches them.
@_spi(Testing) public enum GroupCoordinatorBug: String, Sendable, CaseIterable {
    case none
    /// OffsetCommit skips the member and generation checks.
    case acceptCommitsFromUnknownMembers
    /// A completed join phase keeps the old generation number.
    case keepGenerationOnRebalance
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}

extension Int64 {
    /// `self - other`, saturating instead of trapping (deadlines near the Int64 bounds).
    func subtractingClamped(_ other: Int64) -> Int64 {
        let (value, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : value
    }
}
