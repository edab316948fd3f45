import SluiceMetadata
import SluiceRaft

/// The proposer: one loop that writes the core's outputs to the metadata log strictly in the
/// order the core produced them. Everything queued while an entry is in flight goes into the
/// next entry together (group commit), so a burst of offset commits costs one Raft round trip,
/// not one each. Answers are sent only after the entry holding their records (and every earlier
/// one) has committed; an output without records waits for the entries before it all the same.
extension GroupCoordinatorService {
    /// Largest payload of one metadata-log entry (the Raft core refuses larger ones).
    static let entryBytesMax = RaftOptions().entryBytesMax

    func proposeQueued() async {
        for await _ in proposerWake {
            while !queue.isEmpty {
                await proposeNext()
            }
        }
    }

    /// Takes everything queued, writes its records in as few entries as fit, and answers.
    func proposeNext() async {
        let started = epoch
        let outputs = queue
        queue.removeAll()
        for payload in Self.entries(outputs.map(\.records)) {
            do {
                _ = try await log.propose(payload)
            } catch {
                // Outcome unknown: the entry may still commit under a later leader. The core
                // assumed it did, so it cannot go on; a new one is rebuilt from the log.
                if epoch == started {
                    logger.warning("group coordinator dropped: a metadata proposal failed: \(error)")
                    drop()
                }
                return
            }
            // Dropped meanwhile: every waiter was answered, and the rest of these records
            // belong to a core that no longer exists.
            guard epoch == started else { return }
        }
        for output in outputs {
            for reply in output.replies {
                waiting.removeValue(forKey: reply.token)?.resume(returning: .success(reply.body))
            }
        }
    }

    /// The payloads of the entries that carry `outputs` in order: each is one
    /// `MetadataRecordBatch` within `entryBytesMax` bytes and `recordsMax` records. An output's
    /// records stay in one entry unless they alone exceed the bounds.
    static func entries(_ outputs: [[MetadataRecord]], bytesMax: Int = entryBytesMax,
                        recordsMax: Int = MetadataRecordBatch.recordsMax) -> [[UInt8]] {
        // batch = version (1) | count (4) | (length (4) | record) × count
        let headerBytes = 5
        var payloads: [[UInt8]] = []
        var current: [MetadataRecord] = []
        var currentBytes = headerBytes
        func flush() {
            guard !current.isEmpty else { return }
            payloads.append(MetadataRecordBatch(current).encodedBytes())
            current.removeAll()
            currentBytes = headerBytes
        }
        for records in outputs where !records.isEmpty {
            let sizes = records.map { 4 + Self.encodedBytes($0) }
            let total = sizes.reduce(0, +)
            if currentBytes + total > bytesMax || current.count + records.count > recordsMax { flush() }
            for (record, size) in zip(records, sizes) {
                if !current.isEmpty && (currentBytes + size > bytesMax || current.count == recordsMax) { flush() }
                current.append(record)
                currentBytes += size
            }
        }
        flush()
        return payloads
    }

    static func encodedBytes(_ record: MetadataRecord) -> Int { record.encoded().readableBytes }
}
