extension Duration {
    /// Whole milliseconds, rounded down: what Kafka's `*Ms` fields and the replication core's
    /// millisecond clock take.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
