import CFuzzerDriver
import NIOCore
import SluiceRecords

/// Input: a Produce request's `records` blob. The first byte picks the mode (its low bit: check
/// the CRC or not, so mutations get past the CRC to the record decoders); the rest is split
/// into batches (`RecordBatchSplitter`, the validator of every batch), and each batch's records
/// are decoded (plain, lz4, gzip: decompressed into at most 1 MiB). Invariants: nothing traps;
/// a batch's slice lies within the input; no more records come out than the batch declares.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let verifyCRC = data[0] & 1 == 1
    let blob = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    var splitter = RecordBatchSplitter(blob, trailingBytes: .allowPartialTrailingBatch, bytesMax: 1 << 20,
                                       verifyCRC: verifyCRC)
    while true {
        let batch: RecordBatch
        do throws(RecordBatchError) {
            guard let next = try splitter.next() else { return 0 }
            batch = next
        } catch {
            return 0
        }
        precondition(batch.totalBytes <= size - 1, "a batch of \(batch.totalBytes) bytes from \(size - 1)")
        guard var iterator = try? batch.records(decompressedBytesMax: 1 << 20) else { continue }
        var count = 0
        while let record = try? iterator.next() {
            count += 1
            precondition(count <= Int(batch.recordsCount), "more records than the batch declares")
            _ = record
        }
    }
}

/// The executable's entry (SwiftPM links main to `FuzzRecordBatch_main`): run libFuzzer on `fuzzRecordBatch`.
@_cdecl("FuzzRecordBatch_main")
public func fuzzRecordBatchMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzRecordBatch(data, size)
    }
}
