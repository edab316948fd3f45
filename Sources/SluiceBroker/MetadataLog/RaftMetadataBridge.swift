import SluiceCore
import SluiceMetadata
import SluiceRaft

/// The metadata image is what the Raft log drives: committed entries become image changes,
/// snapshots are the image written as records.
extension MetadataStateMachine: RaftStateMachine {
    public func apply(_ entries: [RaftEntry]) async {
        await apply(entries.map { (index: $0.index, term: $0.term, payload: $0.data) })
    }

    public func snapshot() async -> (index: RaftIndex, data: [UInt8]) {
        let image = snapshot() as MetadataImage
        return (image.lastAppliedIndex, image.snapshotBytes())
    }

    public func restore(_ snapshot: RaftSnapshot) async {
        do {
            await restore(try MetadataImage(snapshotBytes: snapshot.data, index: snapshot.index, term: snapshot.term))
        } catch {
            // Every node got the same snapshot bytes from the same leader; refusing them would
            // leave this node behind forever, so this is a broken invariant, not an input error.
            preconditionFailure("metadata snapshot \(snapshot) does not decode: \(error)")
        }
    }
}

/// The Raft driver as the controller's metadata log.
struct RaftMetadataLog: MetadataLog {
    let driver: RaftDriver
    func propose(_ payload: [UInt8]) async throws -> RaftIndex {
        try await driver.propose(payload)
    }
}
