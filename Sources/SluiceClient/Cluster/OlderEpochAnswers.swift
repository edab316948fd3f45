import SluiceCore

/// The partitions whose cached leader a metadata merge kept over an answer with an older
/// leader epoch (see `ClusterMetadata.merging`), and since when.
///
/// A node lagging behind the metadata log catches up within moments, so older-epoch answers
/// that persist for `metadataMaxAge` are the cluster's view, not one node's: the topic was
/// deleted and re-created (epochs from 0 again; Metadata v8 carries no topic id to tell). Those
/// answers are then taken, so the epoch check cannot leave the cache stuck on the old topic's
/// leaders.
struct OlderEpochAnswers {
    /// Invariant: holds exactly the partitions the last merge kept over an older epoch.
    private(set) var keptSince: [TopicPartition: ContinuousClock.Instant] = [:]

    /// The partitions whose older-epoch answers have been the only ones for at least `patience`.
    func overdue(at now: ContinuousClock.Instant, patience: Duration) -> Set<TopicPartition> {
        Set(keptSince.filter { now - $0.value >= patience }.keys)
    }

    /// Records what the latest merge kept over an older epoch: a partition kept again keeps its
    /// first time; one no longer kept (its answer was current, or taken as overdue) is forgotten.
    mutating func record(kept: Set<TopicPartition>, at now: ContinuousClock.Instant) {
        keptSince = keptSince.filter { kept.contains($0.key) }
        for partition in kept where keptSince[partition] == nil { keptSince[partition] = now }
    }
}
