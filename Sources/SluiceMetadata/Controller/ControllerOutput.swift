/// What a controller decision yields: the records to propose (already reflected in the
/// controller's working image) and the answer for the requester, to send once they commit.
public struct ControllerOutput<Result: Sendable>: Sendable {
    /// Raft entries to propose, in order. Records that must appear together (a topic and its
    /// partitions) are never split across entries. Empty when nothing changes.
    public var batches: [MetadataRecordBatch]
    public var result: Result
    /// What the driver should log at warning level for the operator: unclean leader elections
    /// (each may have lost acknowledged records).
    public var notices: [String]

    /// Every record of every batch, in order.
    public var records: [MetadataRecord] { batches.flatMap(\.records) }

    init(units: [[MetadataRecord]], result: Result, notices: [String] = []) {
        self.result = result
        self.notices = notices
        var batches: [MetadataRecordBatch] = []
        var current: [MetadataRecord] = []
        for unit in units where !unit.isEmpty {
            let fitsAlone = unit.count <= MetadataRecordBatch.recordsMax
            if fitsAlone && current.count + unit.count > MetadataRecordBatch.recordsMax {
                batches.append(MetadataRecordBatch(current))
                current = []
            }
            // A unit alone larger than a batch (only independent partition changes can be) is
            // split; each of its records applies on its own.
            var rest = unit[...]
            while current.count + rest.count > MetadataRecordBatch.recordsMax {
                let take = MetadataRecordBatch.recordsMax - current.count
                current += rest.prefix(take)
                rest = rest.dropFirst(take)
                batches.append(MetadataRecordBatch(current))
                current = []
            }
            current += rest
        }
        if !current.isEmpty { batches.append(MetadataRecordBatch(current)) }
        self.batches = batches
    }

    /// Batches already formed (an answer translated by `map`).
    init(batches: [MetadataRecordBatch], result: Result, notices: [String]) {
        self.batches = batches
        self.result = result
        self.notices = notices
    }
}
