import SluiceCore

/// Which leader epoch wrote which offsets of a partition replica: `epoch → startOffset`, the
/// first offset appended in that epoch. A follower that becomes one after a leader change asks
/// the new leader for the end offset of its own latest epoch (`OffsetForLeaderEpoch`,
/// KIP-101/279) and truncates there, never by high watermark.
///
/// Stored in `leader-epoch-checkpoint` (a `CheckpointFile`, version 0), one `epoch startOffset`
/// line per epoch, oldest first.
public struct LeaderEpochCache: Sendable {
    public struct Entry: Equatable, Sendable {
        public var epoch: LeaderEpoch
        public var startOffset: Offset
    }

    /// Invariant: strictly increasing in both `epoch` and `startOffset`.
    public private(set) var entries: [Entry] = []

    public init(entries: [Entry] = []) {
        for entry in entries { assign(epoch: entry.epoch, startOffset: entry.startOffset) }
    }

    public var latestEpoch: LeaderEpoch? { entries.last?.epoch }

    /// Records that `epoch` starts at `startOffset` (called for the first batch of a new epoch).
    /// An older epoch or an offset below the latest entry's is ignored, as Kafka does, so a
    /// replayed batch cannot rewrite history.
    public mutating func assign(epoch: LeaderEpoch, startOffset: Offset) {
        if let last = entries.last {
            if epoch <= last.epoch { return }
            if startOffset < last.startOffset { return }
            if startOffset == last.startOffset {
                // The previous epoch wrote nothing; the new epoch replaces it.
                entries.removeLast()
            }
        }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
    }

    /// `OffsetForLeaderEpoch` semantics: the largest epoch ≤ `requested` this replica knows, and
    /// the offset where that epoch's records end (the next epoch's start, or the log end offset
    /// for the latest epoch). `nil` when the requested epoch is above every known epoch or the
    /// cache is empty (Kafka answers UNDEFINED_EPOCH and -1).
    public func endOffset(for requested: LeaderEpoch, logEndOffset: Offset) -> (epoch: LeaderEpoch, endOffset: Offset)? {
        guard let last = entries.last else { return nil }
        if requested == last.epoch { return (requested, logEndOffset) }
        guard let higher = entries.firstIndex(where: { $0.epoch > requested }) else { return nil }
        if higher == 0 { return (requested, entries[0].startOffset) }
        return (entries[higher - 1].epoch, entries[higher].startOffset)
    }

    /// Forgets epochs that start at or after `offset` (the log was truncated to `offset`).
    public mutating func truncate(from offset: Offset) {
        entries.removeAll { $0.startOffset >= offset }
    }

    /// Forgets epochs wholly below the new log start; the epoch covering it starts there.
    public mutating func advanceStart(to offset: Offset) {
        guard let covering = entries.lastIndex(where: { $0.startOffset <= offset }) else { return }
        entries.removeFirst(covering)
        entries[0].startOffset = offset
    }

    static let checkpointVersion = 0

    func checkpointEntries() -> [[String]] {
        entries.map { ["\($0.epoch)", "\($0.startOffset)"] }
    }

    init(checkpoint: [[String]], path: String) throws(StorageError) {
        self.init()
        for fields in checkpoint {
            guard let epoch = Int32(fields[0]), let start = Int64(fields[1]) else {
                throw .corrupt(path: path, position: 0, reason: "bad epoch entry \(fields)")
            }
            assign(epoch: LeaderEpoch(epoch), startOffset: Offset(start))
        }
    }
}
