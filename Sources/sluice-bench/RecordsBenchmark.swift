import Foundation
import SluiceCore
import SluiceRecords

/// The record layer's hot paths: the CRC-32C every produced batch is checked with, and what it
/// costs to validate a batch (the Produce path) or to walk all its records (a consumer, or a
/// broker that must look inside). Each figure is compared with memcpy of the same size.
enum RecordsBenchmark: BenchmarkSuite {
    static let name = "records"
    static let summary = "CRC-32C (hardware, table) and RecordBatch validate/iterate throughput vs memcpy"

    static func run(_ report: inout BenchmarkReport) async throws {
        let sizes = [16 * 1024, 1024 * 1024]
        var sink: UInt64 = 0
        for size in sizes {
            let memcpy = ("memcpy", memcpyGBps(size: size))
            let label = size >= 1024 * 1024 ? "\(size / (1024 * 1024)) MiB" : "\(size / 1024) KiB"
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            defer { bytes.deallocate() }
            for i in 0..<size { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ i >> 7) }
            for implementation in CRC32C.Implementation.allCases where implementation.isAvailable {
                let gbps = throughputGBps(bytes: size) {
                    sink &+= UInt64(CRC32C.checksum(UnsafeRawBufferPointer(bytes), implementation: implementation))
                }
                report.add("CRC-32C \(implementation) \(label)", gbps, "GB/s", reference: memcpy)
            }

            let batch = try makeBatch(bytes: size)
            let validate = throughputGBps(bytes: batch.totalBytes) {
                let view = try! RecordBatch(validating: batch.bytes)
                sink &+= UInt64(view.recordsCount)
            }
            report.add("batch validate (view + CRC) \(label), \(batch.recordsCount) × 1 KiB records", validate,
                       "GB/s", reference: memcpy)
            let iterate = throughputGBps(bytes: batch.totalBytes) {
                let view = try! RecordBatch(validating: batch.bytes)
                var records = try! view.records()
                while let record = try! records.next() { sink &+= UInt64(record.offset.rawValue) }
            }
            report.add("batch validate + iterate records \(label)", iterate, "GB/s", reference: memcpy)

            let lz4 = try makeBatch(bytes: size, codec: .lz4)
            let lz4Iterate = throughputGBps(bytes: size) {
                let view = try! RecordBatch(validating: lz4.bytes)
                var records = try! view.records()
                while let record = try! records.next() { sink &+= UInt64(record.offset.rawValue) }
            }
            report.add("lz4 batch validate + decompress + iterate \(label) (per uncompressed byte)", lz4Iterate,
                       "GB/s", reference: memcpy)
        }
        if sink == 42 { print("") }  // keeps the optimiser from dropping the work
    }

    /// A batch of about `bytes` bytes of uncompressed records, each with a 1 KiB value and a
    /// short key; the values are half repetitive so that lz4 has something to do.
    static func makeBatch(bytes: Int, codec: CompressionCodec = .none) throws -> RecordBatch {
        var builder = RecordBatchBuilder(codec: codec)
        var index = 0
        while builder.uncompressedRecordBytes + 1024 + 32 <= bytes - RecordBatch.headerBytes || builder.count == 0 {
            let value = (0..<1024).map { i in i < 512 ? UInt8(truncatingIfNeeded: (i &* 7) ^ index) : UInt8(i % 16) }
            builder.append(key: Array("key-\(index)".utf8), value: value,
                           timestamp: RecordTimestamp(1_700_000_000_000 + Int64(index)))
            index += 1
        }
        return try builder.build()
    }
}
