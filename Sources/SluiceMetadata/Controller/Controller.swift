import SluiceCore
import SluiceWire

/// The controller's decisions: a pure state machine that the Raft leader's controller driver
/// owns (DESIGN §2.1). No clock, no I/O: callers pass `nowMs`, randomness comes from a seed.
///
/// `image` is the *working* image: the committed image the controller started from plus every
/// record it has returned since. Each decision sees the previous ones even before they commit,
/// so two quick decisions never both claim the same partition epoch or topic name.
///
/// Driver contract:
/// 1. On becoming Raft leader, wait until the node has applied every entry up to and including
///    the leader's own first entry of its term (so nothing from an older leader is still in
///    flight), then create `Controller(image: appliedImage, options:, nowMs:, seed:)`.
/// 2. For each request or tick, call a decision method, propose `output.batches` in order, and
///    answer the requester with `output.result` once they commit.
/// 3. If a proposal fails or leadership is lost, discard the `Controller` (its working image
///    holds records that may never commit) and answer pending requests with NOT_CONTROLLER.
public struct Controller: Sendable {
    /// Most partitions in one topic (bounded everything; Kafka has no limit).
    public static let partitionsPerTopicMax: Int32 = 10_000
    /// Most registered brokers; a heartbeat that would register one more is refused.
    public static let brokersMax = 1_024
    /// Most replicas per partition; matches the record layout's limit.
    public static let replicationFactorMax = 256
    /// Largest producer id block one request may take.
    public static let producerIDBlockSizeMax: Int32 = 1_000_000

    public internal(set) var image: MetadataImage
    public internal(set) var leases: BrokerLeases
    /// Brokers in a controlled shutdown: not elected, not added to an ISR. In memory, like the
    /// leases: the broker repeats `wantShutDown` on every heartbeat, and it is fenced by then.
    public internal(set) var shuttingDown: Set<NodeID> = []
    /// When `tick` next looks for partitions to hand back to their preferred leader.
    var nextImbalanceCheckMs: Int64
    public let options: ControllerOptions
    var random: SplitMix64

    /// - Parameters:
    ///   - image: the committed image, current as described in the driver contract.
    ///   - nowMs: the controller's clock now; every unfenced broker's lease starts here.
    ///   - seed: randomness for topic ids (the shell seeds it from the system generator).
    public init(image: MetadataImage, options: ControllerOptions = ControllerOptions(), nowMs: Int64, seed: UInt64) {
        precondition(options.validate().isEmpty, "invalid controller options: \(options.validate())")
        self.image = image
        self.options = options
        self.random = SplitMix64(seed: seed)
        self.leases = BrokerLeases()
        self.nextImbalanceCheckMs = nowMs + options.leaderImbalanceCheckIntervalMs
        for id in image.unfencedBrokerIDs {
            leases.renew(id, nowMs: nowMs, timeoutMs: options.brokerSessionTimeoutMs)
        }
    }

    /// Whether `id` may be elected leader or join an ISR: registered, unfenced, not stopping.
    func mayLead(_ id: NodeID) -> Bool { image.isUnfenced(id) && !shuttingDown.contains(id) }

    /// Applies the controller's own records to its working image.
    /// A record the controller built from its own image that does not apply is a bug here.
    mutating func adopt(_ records: [MetadataRecord]) {
        for record in records {
            do {
                try image.apply(record)
            } catch {
                preconditionFailure("controller produced a record its image refuses: \(error)")
            }
        }
    }
}
