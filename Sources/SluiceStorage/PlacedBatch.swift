import SluiceCore
import SluiceRecords

/// A validated batch with the offset and leader epoch it gets in this log. The leader assigns
/// them; a follower takes the leader's. Keeping them beside the batch, instead of patching the
/// batch's bytes, lets the segment write the original buffer (often a slice of the Produce
/// request) without a copy: only the 16-byte prefix that carries them is written from a new
/// buffer.
struct PlacedBatch {
    let batch: RecordBatch
    let baseOffset: Offset
    let leaderEpoch: LeaderEpoch

    /// A follower's batch: offsets and epoch as stored in it.
    init(asStored batch: RecordBatch) {
        self.batch = batch
        self.baseOffset = batch.baseOffset
        self.leaderEpoch = batch.partitionLeaderEpoch
    }

    init(_ batch: RecordBatch, baseOffset: Offset, leaderEpoch: LeaderEpoch) {
        self.batch = batch
        self.baseOffset = baseOffset
        self.leaderEpoch = leaderEpoch
    }

    var lastOffset: Offset { baseOffset.advanced(by: Int64(batch.lastOffsetDelta)) }
    var nextOffset: Offset { lastOffset.advanced(by: 1) }
    var totalBytes: Int { batch.totalBytes }
    var recordsCount: Int32 { batch.recordsCount }
    var maxTimestamp: Int64 { batch.maxTimestamp.rawValue }

    /// Bytes 0..<16 of the stored batch: baseOffset, batchLength, partitionLeaderEpoch.
    static let prefixBytes = 16

    func storedPrefix() -> [UInt8] {
        var prefix = [UInt8]()
        prefix.reserveCapacity(Self.prefixBytes)
        prefix.appendBigEndian(UInt64(bitPattern: baseOffset.rawValue))
        prefix.appendBigEndian(UInt32(bitPattern: batch.batchLength))
        prefix.appendBigEndian(UInt32(bitPattern: leaderEpoch.rawValue))
        return prefix
    }
}
