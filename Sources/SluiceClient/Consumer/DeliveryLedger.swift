import SluiceCore
import Synchronization

/// Records fetched for one partition at one assignment epoch, waiting to be handed out.
struct FetchedChunk: Sendable {
    var partition: TopicPartition
    /// The partition's epoch when it was fetched; a seek or revocation bumps or ends it.
    var epoch: UInt64
    var records: [ConsumerRecord]
}

/// What the consumer hands out, shared by the consumer's actor and the sequence's iterators,
/// so that a commit covers exactly the records the caller received, and a revoked or
/// re-positioned partition's buffered records are never handed out.
///
/// The chunk being handed out lives here, not in an iterator: the iterator takes records one
/// by one under the lock (no actor hop per record), and a loop that breaks early leaves the
/// rest for the next loop. The actor opens an epoch on assignment or seek and closes it on
/// revocation, atomically reading what was consumed.
final class DeliveryLedger: Sendable {
    private struct State {
        /// Invariant: a partition is handed out only while it has an open epoch.
        var epochs: [TopicPartition: UInt64] = [:]
        /// The next offset after the last record handed out (what a commit stores).
        var consumed: [TopicPartition: Offset] = [:]
        var nextEpoch: UInt64 = 1
        /// The chunk being handed out and the index of its next record.
        var current: FetchedChunk?
        var index = 0
    }

    private let state = Mutex(State())

    /// The next record of the current chunk, recorded as handed out; nil when the chunk is
    /// used up, or stale (its partition was revoked or moved), which drops its rest.
    func next() -> ConsumerRecord? {
        state.withLock { state in
            guard let chunk = state.current else { return nil }
            guard state.index < chunk.records.count, state.epochs[chunk.partition] == chunk.epoch else {
                state.current = nil
                return nil
            }
            let record = chunk.records[state.index]
            state.index += 1
            state.consumed[chunk.partition] = record.offset.advanced(by: 1)
            return record
        }
    }

    /// Whether the current chunk still has records to hand out.
    var hasPending: Bool {
        state.withLock { state in
            guard let chunk = state.current else { return false }
            return state.index < chunk.records.count && state.epochs[chunk.partition] == chunk.epoch
        }
    }

    /// Makes `chunk` the one handed out next.
    func load(_ chunk: FetchedChunk) {
        state.withLock { state in
            state.current = chunk
            state.index = 0
        }
    }

    /// Whether chunks of `epoch` for `partition` may still be handed out.
    func isOpen(_ partition: TopicPartition, epoch: UInt64) -> Bool {
        state.withLock { $0.epochs[partition] == epoch }
    }

    /// Opens a new epoch for `partition` (assignment or seek); earlier chunks become stale.
    /// `consumed`, if given, is the position a commit stores before any record is handed out.
    func open(_ partition: TopicPartition, consumed: Offset?) -> UInt64 {
        state.withLock { state in
            let epoch = state.nextEpoch
            state.nextEpoch += 1
            state.epochs[partition] = epoch
            state.consumed[partition] = consumed
            return epoch
        }
    }

    /// Sets the position of an open epoch where nothing was handed out yet (its start, once
    /// looked up); returns the position now recorded.
    func start(_ partition: TopicPartition, epoch: UInt64, at offset: Offset) -> Offset? {
        state.withLock { state in
            guard state.epochs[partition] == epoch else { return nil }
            if let consumed = state.consumed[partition] { return consumed }
            state.consumed[partition] = offset
            return offset
        }
    }

    /// The recorded position of `partition` if `epoch` is still open.
    func position(_ partition: TopicPartition, epoch: UInt64) -> Offset? {
        state.withLock { $0.epochs[partition] == epoch ? $0.consumed[partition] : nil }
    }

    /// Closes `partition`'s epoch; returns what was consumed (nil: nothing handed out).
    func close(_ partition: TopicPartition) -> Offset? {
        state.withLock { state in
            state.epochs[partition] = nil
            return state.consumed.removeValue(forKey: partition)
        }
    }

    /// The consumed position of every open partition.
    func consumedPositions() -> [TopicPartition: Offset] {
        state.withLock { $0.consumed }
    }
}
