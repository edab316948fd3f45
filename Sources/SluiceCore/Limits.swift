/// Limits shared by several modules, in one place (CONVENTIONS "bounded everything").
/// A module-specific limit lives beside the type it bounds and is named `…Max`.
public enum Limits {
    /// Largest Kafka request or response frame the broker accepts, in bytes (Kafka's
    /// `socket.request.max.bytes` default is 100 MiB; Sluice keeps it).
    public static let frameBytesMax = 100 * 1024 * 1024
    /// Largest record batch accepted from a producer (Kafka's `message.max.bytes` default is
    /// ~1 MiB; Sluice allows 8 MiB so that large lz4 batches from librdkafka fit).
    public static let batchBytesMax = 8 * 1024 * 1024
    /// Largest number of records one batch may claim.
    public static let batchRecordsMax = 1 << 20
}

/// The Sluice release version, printed by every executable's `--version`.
public enum SluiceVersion {
    public static let current = "0.1.0"
}
