import SluiceCore
import Synchronization

/// Records fetched for one partition at one assignment epoch, waiting to be handed out.
struct FetchedChunk: Sendable {
    var partition: TopicPartition
    /// The partition's epoch when it was fetched; a seek or revocation bumps or ends it.
    var epoch: UInt64
    var records: [ConsumerRecord]
}

/// What the consumer has handed out, shared by the consumer's actor and its iterator so that a
/// commit covers exactly the records the caller received, and a revoked or re-positioned
/// partition's buffered records are never handed out.
///
/// The iterator holds a fetched chunk locally (no actor hop per record) and asks the ledger
/// before handing each record out; the actor opens an epoch on assignment or seek and closes
/// it on revocation, atomically reading what was consumed.
final class DeliveryLedger: Sendable {
    private struct State {
        /// Invariant: a partition is handed out only while it has an open epoch.
        var epochs: [TopicPartition: UInt64] = [:]
        /// The next offset after the last record handed out (what a commit stores).
        var consumed: [TopicPartition: Offset] = [:]
        var nextEpoch: UInt64 = 1
    }

    private let state = Mutex(State())

    /// Records `record` as handed out if its chunk's epoch is still open; false: drop it.
    func deliver(_ record: ConsumerRecord, epoch: UInt64) -> Bool {
        state.withLock { state in
            let partition = record.topicPartition
            guard state.epochs[partition] == epoch else { return false }
            state.consumed[partition] = record.offset.advanced(by: 1)
            return true
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
