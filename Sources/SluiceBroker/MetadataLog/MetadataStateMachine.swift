import Logging
import SluiceCore
import SluiceMetadata

/// Applies committed metadata entries, in log order, to the node's image; publishes each new
/// image to the handlers and hands it to the partitions, which follow it on their own: apply
/// never waits on partition I/O (opening logs, truncation, becoming a follower), so the Raft
/// loop is never held up by it. Every node runs it, so every node's image is the same function
/// of the same log.
public actor MetadataStateMachine {
    private var image = MetadataImage.empty
    let view: MetadataView
    let partitions: PartitionManager
    let logger: Logger

    public init(view: MetadataView, partitions: PartitionManager, logger: Logger) {
        self.view = view
        self.partitions = partitions
        self.logger = logger
    }

    public var lastAppliedIndex: RaftIndex { image.lastAppliedIndex }

    /// Applies committed entries (already in order). A record the image refuses is skipped
    /// and logged; all nodes skip the same records, so their images stay equal.
    public func apply(_ entries: [(index: RaftIndex, term: RaftTerm, payload: [UInt8])]) async {
        guard !entries.isEmpty else { return }
        for entry in entries {
            if entry.payload.isEmpty {
                image.markApplied(index: entry.index, term: entry.term)
                continue
            }
            for skipped in image.applyCommitted(payload: entry.payload, index: entry.index, term: entry.term) {
                logger.warning("metadata record skipped: \(skipped)")
            }
        }
        view.publish(image: image)
        partitions.submit(image)
    }

    /// The image as a snapshot payload (Raft compaction) and its restoration.
    public func snapshot() -> MetadataImage { image }

    public func restore(_ restored: MetadataImage) async {
        image = restored
        view.publish(image: image)
        partitions.submit(image)
    }
}
