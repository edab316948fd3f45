import SluiceCore
import SluiceRecords

/// Idempotent-producer de-duplication for one partition (KIP-98): per producer id, the epoch
/// and the last few batches' sequence ranges with the offsets they got.
///
/// A retried batch (same producer, epoch and sequence range as one already appended) is not
/// appended again; the producer gets the original offset. A gap in the sequence is
/// OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH (the producer has been
/// replaced). Like Kafka, five batches per producer are remembered: the most a producer has in
/// flight with `max.in.flight.requests.per.connection ≤ 5`.
///
/// Not persisted: it is rebuilt from the headers of the batches at the tail of the log
/// (`recordStored`, see `PartitionReplica`) after a restart or a leader change, as Kafka
/// rebuilds its producer state from the log, so a retry of a batch written before the restart
/// is still recognised.
public struct ProducerStateTable: Sendable {
    public static let batchesPerProducerMax = 5
    /// Producers remembered per partition; the least recently seen is forgotten beyond this.
    public static let producersMax = 10_000

    struct Entry: Sendable {
        var epoch: ProducerEpoch
        /// Oldest first. Invariant: count ≤ batchesPerProducerMax.
        var batches: [(firstSequence: Int32, lastSequence: Int32, firstOffset: Offset)]
        var lastSeenOrder: UInt64
    }

    public enum Check: Equatable, Sendable {
        case append
        case duplicate(firstOffset: Offset)
        case invalidEpoch
        case outOfOrder(expected: Int32, got: Int32)
    }

    private var producers: [ProducerID: Entry] = [:]
    public init() {}
    private var order: UInt64 = 0

    /// What to do with `batch`; batches without a producer id always append.
    public func check(_ batch: RecordBatch) -> Check {
        let id = batch.producerID
        guard id != .none, let entry = producers[id] else { return .append }
        if batch.producerEpoch < entry.epoch { return .invalidEpoch }
        let first = batch.baseSequence.rawValue
        // A new epoch restarts the sequence at 0 (Kafka's rule); anything else is a gap.
        if batch.producerEpoch > entry.epoch { return first == 0 ? .append : .outOfOrder(expected: 0, got: first) }
        // A retry is the same sequence range (Kafka matches both ends): a batch that starts
        // where a stored one starts but holds more records is not that batch, and answering it
        // with the stored batch's offset would acknowledge records that were never written.
        let last = batch.lastSequence.rawValue
        if let hit = entry.batches.first(where: { $0.firstSequence == first && $0.lastSequence == last }) {
            return .duplicate(firstOffset: hit.firstOffset)
        }
        let expected = entry.batches.last.map { Self.next(after: $0.lastSequence) } ?? first
        return first == expected ? .append : .outOfOrder(expected: expected, got: first)
    }

    /// Whether any batch of `id` is remembered (a producer without state may start at any
    /// sequence, as in Kafka).
    public func knows(_ id: ProducerID) -> Bool { producers[id] != nil }

    /// Records an appended batch at `firstOffset`.
    public mutating func record(_ batch: RecordBatch, firstOffset: Offset) {
        record(id: batch.producerID, epoch: batch.producerEpoch, firstSequence: batch.baseSequence,
               lastSequence: batch.lastSequence, firstOffset: firstOffset)
    }

    /// Records a batch already in the log, from its stored header fields (rebuilding after a
    /// restart, or on a follower as it appends). Control batches (transaction markers) carry no
    /// sequence: pass `isControl` and they are skipped.
    public mutating func recordStored(id: ProducerID, epoch: ProducerEpoch, firstSequence: ProducerSequence,
                                      lastSequence: ProducerSequence, firstOffset: Offset, isControl: Bool) {
        guard !isControl, firstSequence != .none else { return }
        record(id: id, epoch: epoch, firstSequence: firstSequence, lastSequence: lastSequence, firstOffset: firstOffset)
    }

    private mutating func record(id: ProducerID, epoch: ProducerEpoch, firstSequence: ProducerSequence,
                                 lastSequence: ProducerSequence, firstOffset: Offset) {
        guard id != .none else { return }
        order += 1
        let range = (firstSequence.rawValue, lastSequence.rawValue, firstOffset)
        if var entry = producers[id], entry.epoch == epoch {
            entry.batches.append(range)
            if entry.batches.count > Self.batchesPerProducerMax { entry.batches.removeFirst() }
            entry.lastSeenOrder = order
            producers[id] = entry
        } else {
            producers[id] = Entry(epoch: epoch, batches: [range], lastSeenOrder: order)
        }
        if producers.count > Self.producersMax, let oldest = producers.min(by: { $0.value.lastSeenOrder < $1.value.lastSeenOrder }) {
            producers.removeValue(forKey: oldest.key)
        }
    }

    /// Sequences wrap from Int32.max to 0 (Kafka's rule).
    public static func next(after sequence: Int32) -> Int32 { sequence == .max ? 0 : sequence + 1 }
}
