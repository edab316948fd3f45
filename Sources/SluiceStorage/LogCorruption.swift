import SluiceCore

/// Where and why stored bytes of a partition log failed their checks on read: bit rot, a
/// misdirected write, or a bug. The bad batch is never served; this says exactly which batch
/// it is, so the broker can log it and a follower can cut its log back to it
/// (`PartitionLog.truncate(toDamage:nowMs:)`) and fetch the rest again from its leader.
public struct LogCorruption: Error, Hashable, Sendable, CustomStringConvertible {
    /// The segment's `.log` file.
    public var path: String
    /// The base offset of that segment (its file name).
    public var segmentBaseOffset: Offset
    /// The byte position in the `.log` where the damaged batch starts.
    public var position: Int64
    /// The first offset the damaged batch holds. It comes from the batch before it (batches in
    /// a segment are contiguous), never from the damaged header, which may itself be wrong.
    public var offset: Offset
    public var reason: String

    public init(path: String, segmentBaseOffset: Offset, position: Int64, offset: Offset, reason: String) {
        self.path = path
        self.segmentBaseOffset = segmentBaseOffset
        self.position = position
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(path) is corrupt at byte \(position) (offset \(offset)): \(reason)" }
}
