import SluiceCore
import SluiceRecords
import SluiceReplication
import Testing

/// Idempotent de-duplication (KIP-98) on its own: what a retry, a gap and a new epoch get.
@Suite struct ProducerStateTableTests {
    let producer = ProducerID(42)

    func batch(epoch: Int16 = 0, sequence: Int32, records: Int) throws -> RecordBatch {
        var builder = RecordBatchBuilder(producerID: producer, producerEpoch: ProducerEpoch(epoch), baseSequence: ProducerSequence(sequence))
        for i in 0..<records {
            builder.append(key: Array("k".utf8), value: Array("v\(i)".utf8), timestamp: RecordTimestamp(1_700_000_000_000))
        }
        return try builder.build()
    }

    @Test func aRetryOfTheSameRangeGetsTheOriginalOffset() throws {
        var table = ProducerStateTable()
        let first = try batch(sequence: 0, records: 3)
        #expect(table.check(first) == .append)
        table.record(first, firstOffset: Offset(100))
        #expect(table.check(try batch(sequence: 0, records: 3)) == .duplicate(firstOffset: Offset(100)))
        #expect(table.check(try batch(sequence: 3, records: 2)) == .append)
    }

    /// A batch that starts where a stored one starts but holds more records (librdkafka
    /// rebuilds retried batches from its queue) is not that batch: answering it as a duplicate
    /// would acknowledge the extra records, which were never written.
    @Test func aLongerBatchFromTheSameSequenceIsNotADuplicate() throws {
        var table = ProducerStateTable()
        table.record(try batch(sequence: 0, records: 1), firstOffset: Offset(7))
        #expect(table.check(try batch(sequence: 0, records: 4)) == .outOfOrder(expected: 1, got: 0))
    }

    @Test func aGapIsOutOfOrder() throws {
        var table = ProducerStateTable()
        table.record(try batch(sequence: 0, records: 2), firstOffset: Offset(0))
        #expect(table.check(try batch(sequence: 5, records: 1)) == .outOfOrder(expected: 2, got: 5))
    }

    @Test func aNewEpochStartsAtSequenceZeroAndAnOlderOneIsFenced() throws {
        var table = ProducerStateTable()
        table.record(try batch(epoch: 3, sequence: 0, records: 10), firstOffset: Offset(0))
        #expect(table.check(try batch(epoch: 4, sequence: 10, records: 1)) == .outOfOrder(expected: 0, got: 10))
        #expect(table.check(try batch(epoch: 4, sequence: 0, records: 1)) == .append)
        #expect(table.check(try batch(epoch: 2, sequence: 10, records: 1)) == .invalidEpoch)
    }

    /// Only the last five batches are remembered, as Kafka does; an older retry is out of order.
    @Test func fiveBatchesAreRemembered() throws {
        var table = ProducerStateTable()
        for i in 0..<7 { table.record(try batch(sequence: Int32(i), records: 1), firstOffset: Offset(Int64(i))) }
        #expect(table.check(try batch(sequence: 2, records: 1)) == .duplicate(firstOffset: Offset(2)))
        #expect(table.check(try batch(sequence: 1, records: 1)) == .outOfOrder(expected: 7, got: 1))
    }

    /// Rebuilt from stored headers (after a restart or a leader change), a retry is still known.
    @Test func aTableRebuiltFromStoredHeadersKnowsTheRetry() throws {
        var table = ProducerStateTable()
        table.recordStored(id: producer, epoch: ProducerEpoch(0), firstSequence: ProducerSequence(0), lastSequence: ProducerSequence(2),
                           firstOffset: Offset(1222), isControl: false)
        #expect(table.check(try batch(sequence: 0, records: 3)) == .duplicate(firstOffset: Offset(1222)))
    }
}
