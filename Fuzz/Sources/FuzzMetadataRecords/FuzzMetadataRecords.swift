import CFuzzerDriver
import NIOCore
import SluiceMetadata

/// Input: a metadata log entry as the Raft log carries it. The first byte picks the decoder:
/// even, one `MetadataRecord` (`decode(exactly:)`); odd, a `MetadataRecordBatch` (what one Raft
/// entry holds). Invariants: nothing traps; whatever decodes encodes to bytes that decode to
/// the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetadataRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 0 {
        guard let record = try? MetadataRecord.decode(exactly: ByteBuffer(bytes: bytes)) else { return 0 }
        let again = try? MetadataRecord.decode(exactly: record.encoded())
        precondition(again == record, "\(record) does not round-trip")
    } else {
        guard let batch = try? MetadataRecordBatch.decode(bytes) else { return 0 }
        let again = try? MetadataRecordBatch.decode(batch.encodedBytes())
        precondition(again == batch, "a batch of \(batch) does not round-trip")
    }
    return 0
}

/// The executable's entry (SwiftPM links main to `FuzzMetadataRecords_main`): run libFuzzer on `fuzzMetadataRecords`.
@_cdecl("FuzzMetadataRecords_main")
public func fuzzMetadataRecordsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzMetadataRecords(data, size)
    }
}
