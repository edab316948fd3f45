import SluiceCore

extension MetadataImage {
    /// Why `topicPartition` has no leader, readable for Metadata and describe output; `nil`
    /// when it has one (or does not exist). Derived from the partition's state alone, so every
    /// node gives the same reason.
    public func offlineReason(_ topicPartition: TopicPartition) -> String? {
        guard let state = partition(topicPartition), !state.hasLeader else { return nil }
        if state.isrRestartedUnclean, let only = state.isr.first {
            return "the only in-sync replica \(only) restarted after an unclean shutdown and may have lost acknowledged "
                + "records; unclean.leader.election.enable=true elects it anyway"
        }
        let alive = state.replicas.filter(isUnfenced)
        return "no in-sync replica of ISR \(state.isr) is alive (live replicas: \(alive)); it gets a leader when one "
            + "returns, or unclean.leader.election.enable=true elects a live replica outside the ISR"
    }
}
