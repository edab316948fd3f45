/// Strong types for the concepts Sluice names (CONVENTIONS.md, "one word per concept").
/// Each wraps the integer width the Kafka wire protocol or the Raft log uses for it, so a
/// value crosses the wire without conversion, and an `Offset` can never be passed where a
/// `RaftIndex` is expected.

/// Declares the conformances every integer identifier shares.
public protocol IntegerIdentifier: RawRepresentable, Hashable, Comparable, Sendable,
    CustomStringConvertible, ExpressibleByIntegerLiteral
where RawValue: FixedWidthInteger & Sendable {
    init(_ rawValue: RawValue)
}

extension IntegerIdentifier {
    public init(rawValue: RawValue) { self.init(rawValue) }
    public init(integerLiteral value: RawValue) { self.init(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue.description }
}

/// A broker node's id (`node.id`), as Kafka's `broker_id` / `replica_id` (int32).
public struct NodeID: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// Kafka's "no node" (-1), e.g. a partition without a leader.
    public static let none: NodeID = -1
}

/// A partition's index within its topic (int32 on the wire).
public struct PartitionIndex: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
}

/// A record's position in a partition log (int64 on the wire).
public struct Offset: IntegerIdentifier {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static let zero: Offset = 0
    /// Kafka's "unknown offset" (-1).
    public static let unknown: Offset = -1
    public func advanced(by delta: Int64) -> Offset { Offset(rawValue + delta) }
    public func distance(to other: Offset) -> Int64 { other.rawValue - rawValue }
}

/// The epoch of a partition's leadership; bumped by the controller on every leader change and
/// stamped on every batch the leader appends (`partitionLeaderEpoch`).
public struct LeaderEpoch: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// Kafka's "no epoch" (-1).
    public static let unknown: LeaderEpoch = -1
    public var next: LeaderEpoch { LeaderEpoch(rawValue + 1) }
}

/// The epoch of a partition's metadata (leader, ISR); fences stale ISR-change requests.
public struct PartitionEpoch: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public var next: PartitionEpoch { PartitionEpoch(rawValue + 1) }
}

/// A Raft term. Only ever grows on a node.
public struct RaftTerm: IntegerIdentifier {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero: RaftTerm = 0
    public var next: RaftTerm { RaftTerm(rawValue + 1) }
}

/// A position in the Raft metadata log. Index 0 is "before the first entry"; entries start at 1.
public struct RaftIndex: IntegerIdentifier {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero: RaftIndex = 0
    public var next: RaftIndex { RaftIndex(rawValue + 1) }
    public var previous: RaftIndex {
        precondition(rawValue > 0, "RaftIndex.zero has no previous index")
        return RaftIndex(rawValue - 1)
    }
}

/// An idempotent producer's id (int64), handed out by InitProducerId.
public struct ProducerID: IntegerIdentifier {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    /// "No producer id" (-1): a non-idempotent batch.
    public static let none: ProducerID = -1
}

/// An idempotent producer's epoch (int16).
public struct ProducerEpoch: IntegerIdentifier {
    public let rawValue: Int16
    public init(_ rawValue: Int16) { self.rawValue = rawValue }
    public static let none: ProducerEpoch = -1
}

/// A consumer group's generation (int32); bumped on every completed rebalance.
public struct GenerationID: IntegerIdentifier {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// "No generation" (-1): a simple (non-group) offset commit.
    public static let none: GenerationID = -1
}

/// A Kafka topic partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let topic: TopicName
    public let partition: PartitionIndex
    public init(_ topic: TopicName, _ partition: PartitionIndex) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)-\(partition)" }
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic.rawValue, lhs.partition) < (rhs.topic.rawValue, rhs.partition)
    }
}
