import SluiceCore
import SluiceMetadata
import Synchronization

/// The node's current metadata, read by every request handler: the last applied image and
/// who the controller (the Raft leader) is. Written by the metadata state machine only.
public final class MetadataView: Sendable {
    public struct Snapshot: Sendable {
        public var image: MetadataImage
        /// The Raft leader, if one is known.
        public var controllerID: NodeID?
    }

    private let state = Mutex(Snapshot(image: .empty, controllerID: nil))
    /// Wakes requests waiting for a newer image (a topic being created, a leader elected).
    let changed = AppendSignal()

    public init() {}

    public var current: Snapshot { state.withLock { $0 } }

    public func publish(image: MetadataImage) {
        state.withLock { $0.image = image }
        changed.bump()
    }

    public func publish(controllerID: NodeID?) {
        state.withLock { $0.controllerID = controllerID }
        changed.bump()
    }
}
