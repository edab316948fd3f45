import NIOCore
import Testing
@testable import SluiceClient
import SluiceCore
import SluiceRecords
import SluiceWire

@Suite("Producer parts without a node")
struct ProducerUnitTests {
    let partition: TopicPartition

    init() throws {
        partition = TopicPartition(try TopicName(validating: "orders"), 0)
    }

    func record(_ bytes: Int) -> ProducerRecord {
        ProducerRecord(topic: partition.topic, key: nil, value: ByteBuffer(repeating: 0x61, count: bytes))
    }

    @Test func fullBatchesAreSealedAndLingerSealsTheRest() {
        var accumulator = RecordAccumulator(codec: .none, batchBytes: 1000, linger: .milliseconds(10),
                                            memoryBytesMax: 1 << 20)
        accumulator.setPartitionCount(1, of: partition.topic)
        let start = ContinuousClock.now
        for _ in 0..<25 {
            let item = record(100)
            let reserved = accumulator.reserve(item.estimatedBytes)
            #expect(reserved == .reserved)
            _ = accumulator.append(item, bytes: item.estimatedBytes, placement: .partition(0), reserved: true,
                                   timestamp: 1, report: nil, now: { start })
        }
        // Nothing may be sent: no batch is taken.
        let none = accumulator.drain(now: start) { _ in 0 }
        #expect(none.isEmpty)
        let full = accumulator.drain(now: start) { _ in 10 }
        #expect(full.count == 2, "two full batches of ~1000 bytes before linger")
        #expect(full.allSatisfy { $0.recordCount == 8 || $0.recordCount == 9 })
        #expect(accumulator.nextLingerDeadline == start + .milliseconds(10))
        let lingered = accumulator.drain(now: start + .milliseconds(10)) { _ in 10 }
        #expect(lingered.count == 1)
        #expect(full.map(\.recordCount).reduce(0, +) + lingered[0].recordCount == 25)
        #expect(full[0].id < full[1].id && full[1].id < lingered[0].id, "batches keep creation order")
    }

    @Test func oneAppendFindsTheTopicReservesAndSpreadsRoundRobin() {
        var accumulator = RecordAccumulator(codec: .none, batchBytes: 1 << 20, linger: .milliseconds(10),
                                            memoryBytesMax: 1000)
        let start = ContinuousClock.now
        func append(_ bytes: Int, _ placement: RecordAccumulator.Placement = .roundRobin) -> RecordAccumulator.AppendOutcome {
            accumulator.append(record(1), bytes: bytes, placement: placement, reserved: false,
                               timestamp: 1, report: nil, now: { start })
        }
        #expect(append(100) == .unknownTopic, "no partition count yet")
        #expect(accumulator.memoryBytesUsed == 0)
        accumulator.setPartitionCount(3, of: partition.topic)
        #expect(accumulator.partitionCount(of: partition.topic) == 3)
        let opened = (0..<7).map { _ in append(100) }
        #expect(opened == Array(repeating: .appended(wakeSender: true), count: 3)
                + Array(repeating: .appended(wakeSender: false), count: 4), "a batch opens in each of 3 partitions")
        #expect(append(900) == .full, "memory is not reserved beyond its bound")
        #expect(accumulator.memoryBytesUsed == 700)
        #expect(append(10, .partition(2)) == .appended(wakeSender: false))
        let batches = accumulator.drain(now: start + .milliseconds(10)) { _ in 10 }
        #expect(batches.sorted { $0.partition < $1.partition }.map(\.recordCount) == [3, 2, 3], "round-robin 0, 1, 2, 0…")
        #expect(accumulator.isEmpty)
        #expect(batches.map(\.memoryBytes).reduce(0, +) == 710)
        _ = accumulator.close()
        #expect(append(10) == .closed)
    }

    @Test func bufferMemoryIsBoundedAndWaitersResumeInOrderAsItIsReleased() async {
        var accumulator = RecordAccumulator(codec: .none, batchBytes: 1 << 20, linger: .zero, memoryBytesMax: 1000)
        let (first, second, third) = (accumulator.reserve(600), accumulator.reserve(300), accumulator.reserve(600))
        #expect(first == .reserved && second == .reserved && third == .full)
        #expect(accumulator.memoryBytesUsed == 900)
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let queued = accumulator.waitForMemory(600, waiter)
            #expect(queued)
            let early = accumulator.release(300)
            #expect(early.isEmpty, "600 used: a 600 byte waiter does not fit in the 400 left")
            let ready = early + accumulator.release(300)
            #expect(ready.count == 1)
            ready.forEach { $0.resume() }
        }
        #expect(accumulator.memoryBytesUsed == 300)
        let again = accumulator.reserve(600)
        #expect(again == .reserved)
    }

    @Test func errorPolicyFollowsKafka() {
        func server(_ code: KafkaErrorCode) -> SluiceClientError { .server(code, api: .produce, resource: nil, message: nil) }
        #expect(ProducerErrorPolicy.decide(server(.notLeaderOrFollower), isFirstUnacknowledged: true) == .retry(refreshMetadata: true))
        #expect(ProducerErrorPolicy.decide(server(.leaderNotAvailable), isFirstUnacknowledged: false) == .retry(refreshMetadata: true))
        #expect(ProducerErrorPolicy.decide(server(.outOfOrderSequenceNumber), isFirstUnacknowledged: false) == .retry(refreshMetadata: false))
        #expect(ProducerErrorPolicy.decide(server(.outOfOrderSequenceNumber), isFirstUnacknowledged: true) == .fail)
        #expect(ProducerErrorPolicy.decide(server(.unknownProducerID), isFirstUnacknowledged: true) == .retryWithNewProducerID)
        #expect(ProducerErrorPolicy.decide(server(.messageTooLarge), isFirstUnacknowledged: true) == .fail)
        #expect(ProducerErrorPolicy.decide(server(.invalidRecord), isFirstUnacknowledged: true) == .fail)
        let lost = SluiceClientError.connectionClosed(address: "a:1", reason: "reset")
        #expect(ProducerErrorPolicy.decide(lost, isFirstUnacknowledged: true) == .retry(refreshMetadata: true))
        #expect(ProducerErrorPolicy.decide(.closed, isFirstUnacknowledged: true) == .fail)
    }

    @Test func sequencesWrapAndRestampingKeepsTheRecordsAndAValidCRC() throws {
        #expect(ProducerSender.sequence(5, plus: 10) == 15)
        #expect(ProducerSender.sequence(Int32.max - 1, plus: 3) == 1)
        var builder = RecordBatchBuilder(codec: .lz4, producerID: 7, producerEpoch: 0, baseSequence: 40)
        builder.append(key: Array("k".utf8), value: Array("v1".utf8), timestamp: 5)
        builder.append(key: Array("k".utf8), value: Array("v2".utf8), timestamp: 6)
        let batch = try builder.build()
        let moved = batch.restamped(producerID: 99, epoch: 3, baseSequence: 0)
        #expect(moved.producerID == 99 && moved.producerEpoch == 3 && moved.baseSequence == 0)
        #expect(moved.isCRCValid)
        #expect(try moved.decodeRecords().map { $0.value.map { String(buffer: $0) } } == ["v1", "v2"])
    }
}
