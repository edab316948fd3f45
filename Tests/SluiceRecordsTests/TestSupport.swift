import NIOCore
import SluiceCore

@testable import SluiceRecords

/// Small helpers shared by the record-layer tests.
enum TestBatches {
    /// A batch of `count` records with keys "key-i", values "value-i…", a header on odd records.
    static func make(count: Int = 3, codec: CompressionCodec = .none, valueBytes: Int = 10,
                     producerID: ProducerID = 42, baseTimestamp: Int64 = 1_700_000_000_000) -> RecordBatch {
        var builder = RecordBatchBuilder(codec: codec, producerID: producerID, producerEpoch: 3, baseSequence: 17)
        for i in 0..<count {
            let headers = i % 2 == 1 ? [RecordHeader(key: "h", value: Array("v\(i)".utf8))] : []
            let value = Array("value-\(i)".utf8) + [UInt8](repeating: UInt8(ascii: "a") + UInt8(i % 26), count: valueBytes)
            builder.append(key: Array("key-\(i)".utf8), value: value, headers: headers,
                           timestamp: RecordTimestamp(baseTimestamp + Int64(i) * 10))
        }
        return try! builder.build()
    }

    /// The bytes of `batch` as an array, for mutation.
    static func bytes(_ batch: RecordBatch) -> [UInt8] { Array(batch.bytes.readableBytesView) }

    /// Recomputes and stores the CRC of a batch given as raw bytes, so a test can reach checks
    /// that come after the CRC.
    static func fixCRC(_ bytes: inout [UInt8]) {
        let crc = CRC32C.checksum(bytes[21...])
        bytes[17] = UInt8(crc >> 24); bytes[18] = UInt8((crc >> 16) & 0xFF)
        bytes[19] = UInt8((crc >> 8) & 0xFF); bytes[20] = UInt8(crc & 0xFF)
    }

    static func setInt32(_ bytes: inout [UInt8], at index: Int, _ value: Int32) {
        let v = UInt32(bitPattern: value)
        for k in 0..<4 { bytes[index + k] = UInt8((v >> (24 - 8 * UInt32(k))) & 0xFF) }
    }
}

extension ByteBuffer {
    var string: String { String(decoding: readableBytesView, as: UTF8.self) }
}

/// Lets the fuzz tests use the stdlib's `randomElement(using:)` with a seeded generator.
extension SplitMix64: RandomNumberGenerator {}
