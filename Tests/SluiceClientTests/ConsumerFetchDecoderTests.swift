import NIOCore
import SluiceCore
import SluiceRecords
import Testing

@testable import SluiceClient

@Suite("FetchedBatchDecoder")
struct ConsumerFetchDecoderTests {
    let topic = TopicName(rawValue: "events")!

    /// A batch of `count` records from `base` (values "v<offset>", timestamps 1000 + offset).
    func batch(_ base: Int64, count: Int, codec: CompressionCodec = .none, control: Bool = false) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: codec, baseOffset: Offset(base))
        for i in 0..<count {
            let offset = base + Int64(i)
            builder.append(key: Array("k\(offset)".utf8), value: Array("v\(offset)".utf8),
                           headers: [RecordHeader(key: "h", value: [1])], timestamp: RecordTimestamp(1000 + offset))
        }
        var bytes = try builder.build().bytes
        if control {
            // Mark it a control batch (a transaction marker) and fix the CRC the flag is under.
            let attributes = bytes.getInteger(at: bytes.readerIndex + 21, as: Int16.self) ?? 0
            bytes.setInteger(attributes | 0x20, at: bytes.readerIndex + 21)
            bytes.setInteger(RecordBatch(unchecked: bytes).computeCRC(), at: bytes.readerIndex + 17)
        }
        return bytes
    }

    @Test func skipsRecordsBelowTheFetchOffsetAndControlBatchesAndStopsAtACutOffBatch() throws {
        var blob = ByteBuffer()
        var b1 = try batch(0, count: 5, codec: .lz4)
        var b2 = try batch(5, count: 5, codec: .gzip)
        var b3 = try batch(10, count: 1, control: true)
        var b4 = try batch(11, count: 2)
        var cut = try batch(13, count: 3)
        blob.writeBuffer(&b1)
        blob.writeBuffer(&b2)
        blob.writeBuffer(&b3)
        blob.writeBuffer(&b4)
        blob.writeBytes(cut.readBytes(length: 30) ?? [])
        let decoded = try FetchedBatchDecoder.decode(blob, topic: topic, partition: 2, fetchOffset: 3)
        #expect(decoded.records.map(\.offset.rawValue) == [3, 4, 5, 6, 7, 8, 9, 11, 12])
        #expect(decoded.nextFetchOffset == 13)
        let first = try #require(decoded.records.first)
        #expect(first.topic == topic)
        #expect(first.partition == 2)
        #expect(first.valueString == "v3")
        #expect(first.keyBytes == Array("k3".utf8))
        #expect(first.timestamp == 1003)
        #expect(first.headers == [RecordHeader(key: "h", value: [1])])
    }

    @Test func anEmptyAnswerKeepsThePosition() throws {
        #expect(try FetchedBatchDecoder.decode(nil, topic: topic, partition: 0, fetchOffset: 42).nextFetchOffset == 42)
        let old = try batch(0, count: 3)
        // A batch wholly below the fetch offset (already read) does not move the position back.
        let decoded = try FetchedBatchDecoder.decode(old, topic: topic, partition: 0, fetchOffset: 7)
        #expect(decoded.records.isEmpty)
        #expect(decoded.nextFetchOffset == 7)
    }

    @Test func aCorruptBatchIsAnErrorNotACrash() throws {
        var bytes = try batch(0, count: 3)
        let last = bytes.readerIndex + bytes.readableBytes - 1
        bytes.setInteger((bytes.getInteger(at: last, as: UInt8.self) ?? 0) ^ 0xff, at: last)
        #expect(throws: RecordBatchError.self) {
            try FetchedBatchDecoder.decode(bytes, topic: topic, partition: 0, fetchOffset: 0)
        }
    }
}
