import Foundation
import NIOCore
import SluiceCore
import Testing

@testable import SluiceRecords

/// Batches captured from real clients (Fixtures/README.md) must validate and decode to exactly
/// the records each client was asked to send.
@Suite struct FixtureTests {
    struct Entry: Decodable, Sendable, CustomTestStringConvertible {
        struct ExpectedRecord: Decodable, Sendable {
            var key: String?
            var value: String?
            var headers: [[String?]]
            var timestamp: Int64?
        }
        var file: String
        var client: String
        var codec: String
        var codecID: UInt8
        var producerID: Int64
        var producerEpoch: Int16
        var baseSequence: Int32
        var records: [ExpectedRecord]
        var testDescription: String { "\(file) (\(client))" }
    }

    static func fixtureURL(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static let manifest: [Entry] = {
        guard let data = try? Data(contentsOf: fixtureURL("manifest.json")) else { return [] }
        return (try? JSONDecoder().decode([Entry].self, from: data)) ?? []
    }()

    static func load(_ entry: Entry) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: fixtureURL(entry.file)))
    }

    @Test func manifestListsEveryClientAndCodec() {
        let kinds = Set(Self.manifest.map { "\($0.client.split(separator: " ")[0]) \($0.codec)" })
        #expect(kinds == ["kcat none", "kcat lz4", "confluent-kafka none", "confluent-kafka lz4", "confluent-kafka gzip",
                          "kafka-python none", "kafka-python lz4", "kafka-python gzip", "aiokafka lz4"])
    }

    @Test(arguments: manifest)
    func capturedBatchValidatesWithTheExpectedHeader(entry: Entry) throws {
        var splitter = RecordBatchSplitter(try Self.load(entry), trailingBytes: .rejectPartialTrailingBatch)
        let batch = try #require(try splitter.next())
        #expect(try splitter.next() == nil, "one batch per partition, as clients send")
        #expect(batch.isCRCValid)
        #expect(batch.magic == 2)
        #expect(batch.baseOffset == 0)
        #expect(batch.attributes.codecID == entry.codecID)
        #expect(batch.attributes.codec?.description == entry.codec)
        #expect(Int(batch.recordsCount) == entry.records.count)
        #expect(batch.producerID == ProducerID(entry.producerID))
        #expect(batch.producerEpoch == ProducerEpoch(entry.producerEpoch))
        #expect(batch.baseSequence == ProducerSequence(entry.baseSequence))
        #expect(!batch.attributes.isTransactional && !batch.attributes.isControl)
    }

    @Test(arguments: manifest)
    func capturedBatchDecodesToTheManifestRecords(entry: Entry) throws {
        var batch = try RecordBatch(validating: try Self.load(entry))
        batch.assign(baseOffset: 5000, partitionLeaderEpoch: 3)
        #expect(try RecordBatch(validating: batch.bytes).isCRCValid, "patched fixture still validates")
        let records = try batch.decodeRecords()
        try #require(records.count == entry.records.count)
        for (index, (record, expected)) in zip(records, entry.records).enumerated() {
            #expect(record.offset == Offset(5000 + Int64(index)))
            #expect(record.key?.string == expected.key, "record \(index)")
            #expect(record.value?.string == expected.value, "record \(index)")
            #expect(record.headers.map(\.key) == expected.headers.map { $0[0] ?? "" }, "record \(index)")
            #expect(record.headers.map { $0.value?.string } == expected.headers.map { $0[1] }, "record \(index)")
            if let timestamp = expected.timestamp { #expect(record.timestamp == RecordTimestamp(timestamp)) }
        }
        #expect(records.map(\.timestamp).max() == batch.maxTimestamp)
        #expect(records.first?.timestamp == batch.baseTimestamp)
    }

    @Test func kcatLZ4FixtureReallyIsLZ4WithLibrdkafkasFrame() throws {
        let entry = try #require(Self.manifest.first { $0.file == "kcat-lz4.bin" })
        let batch = try RecordBatch(validating: try Self.load(entry))
        #expect(batch.attributes.codec == .lz4, "librdkafka 2.0.2 sends lz4 only if Produce v0 was advertised")
        #expect(batch.recordSection.getBytes(at: batch.recordSection.readerIndex, length: 5) == [0x04, 0x22, 0x4D, 0x18, 0x60])
    }

    @Test func lz4FixturesCoverEveryFrameFlagVariant() throws {
        var flags: Set<UInt8> = []
        for entry in Self.manifest where entry.codec == "lz4" {
            let section = try RecordBatch(validating: try Self.load(entry)).recordSection
            flags.insert(section.getInteger(at: section.readerIndex + 4, as: UInt8.self)!)
        }
        #expect(flags == [0x60, 0x68, 0x70])
    }

    @Test(arguments: manifest)
    func rebuildingTheRecordsWithSluiceGivesTheSameRecords(entry: Entry) throws {
        let original = try RecordBatch(validating: try Self.load(entry))
        var builder = RecordBatchBuilder(codec: original.attributes.codec!)
        for record in try original.decodeRecords() {
            builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp)
        }
        let rebuilt = try RecordBatch(validating: builder.build().bytes)
        #expect(try rebuilt.decodeRecords() == original.decodeRecords())
        if original.attributes.codec == CompressionCodec.none {
            #expect(rebuilt.recordSection == original.recordSection, "uncompressed records are byte-identical")
        }
    }
}
