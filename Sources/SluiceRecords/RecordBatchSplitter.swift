import NIOCore
import SluiceCore

/// Splits a `records` blob (the records field of a Produce request or Fetch response, or a log
/// segment's bytes) into validated batches, without copying.
///
/// A blob may end partway through a batch: Fetch responses do (the broker cuts at max bytes),
/// and so may a log segment after a crash. Such a tail is not corruption. With
/// `.allowPartialTrailingBatch` the splitter stops there and exposes it as
/// `partialTrailingBatch`; with `.rejectPartialTrailingBatch` (Produce) it throws `.truncated`.
/// A batch whose header is readable and wrong (bad magic, impossible length) is corruption in
/// both modes, as is a complete batch that fails validation.
///
/// ```
/// var splitter = RecordBatchSplitter(records, trailingBytes: .rejectPartialTrailingBatch)
/// while let batch = try splitter.next() { … }
/// ```
public struct RecordBatchSplitter: Sendable {
    public enum TrailingBytesPolicy: Sendable {
        /// Produce requests: a blob must be whole batches.
        case rejectPartialTrailingBatch
        /// Fetch responses and log recovery: an incomplete last batch ends the iteration.
        case allowPartialTrailingBatch
    }

    private var remaining: ByteBuffer
    private let startIndex: Int
    private let policy: TrailingBytesPolicy
    private let bytesMax: Int
    private let verifyCRC: Bool
    /// Set at a partial trailing batch, which stays in `remaining` so `position` points at it.
    private var finished = false

    /// The incomplete batch at the end of the blob, once `next()` has returned nil with
    /// `.allowPartialTrailingBatch`; nil if the blob ended on a batch boundary.
    public private(set) var partialTrailingBatch: ByteBuffer?

    public init(_ records: ByteBuffer, trailingBytes policy: TrailingBytesPolicy,
                bytesMax: Int = Limits.batchBytesMax, verifyCRC: Bool = true) {
        self.remaining = records
        self.startIndex = records.readerIndex
        self.policy = policy
        self.bytesMax = bytesMax
        self.verifyCRC = verifyCRC
    }

    /// The position of the next batch, in bytes from the start of the blob. After an error, or
    /// at a partial trailing batch, it is where that batch starts (log recovery truncates there).
    public var position: Int { remaining.readerIndex - startIndex }

    /// The next batch, nil at the end of the blob (or at a partial trailing batch, if allowed).
    public mutating func next() throws(RecordBatchError) -> RecordBatch? {
        guard !finished, remaining.readableBytes > 0 else { return nil }
        // A batch's size is known once its 12-byte prefix is; its format once byte 16 is.
        let available = remaining.readableBytes
        if available < RecordBatch.lengthPrefixBytes { return try partial(batchBytes: nil) }
        let total = RecordBatch.lengthPrefixBytes
            + Int(remaining.getInteger(at: remaining.readerIndex + 8, as: Int32.self)!)
        guard total >= RecordBatch.headerBytes else { throw .batchTooSmall(bytes: total) }
        guard total <= bytesMax else { throw .batchTooLarge(bytes: total, bytesMax: bytesMax) }
        if available > 16, let magic = remaining.getInteger(at: remaining.readerIndex + 16, as: Int8.self),
           magic != RecordBatch.magicV2 {
            throw .unsupportedMagic(magic)
        }
        if available < total { return try partial(batchBytes: total) }
        let slice = remaining.getSlice(at: remaining.readerIndex, length: total)!
        let batch = try RecordBatch(validating: slice, bytesMax: bytesMax, verifyCRC: verifyCRC)
        remaining.moveReaderIndex(forwardBy: total)
        return batch
    }

    private mutating func partial(batchBytes: Int?) throws(RecordBatchError) -> RecordBatch? {
        switch policy {
        case .rejectPartialTrailingBatch:
            throw .truncated(atByte: position, batchBytes: batchBytes ?? RecordBatch.headerBytes,
                             availableBytes: remaining.readableBytes)
        case .allowPartialTrailingBatch:
            partialTrailingBatch = remaining
            finished = true
            return nil
        }
    }
}
