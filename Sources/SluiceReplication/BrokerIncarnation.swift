/// Which life of a broker sent a fetch: the incarnation it registered with (Kafka's broker
/// epoch, KIP-903). A restarted broker has a new one and may have lost the unsynced tail of
/// every log, so what an older incarnation fetched says nothing about its log now.
///
/// The same 128 bits as the registration record's incarnation UUID; this module does not
/// depend on the wire types, so the shell converts.
public struct BrokerIncarnation: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public var description: String { String(high, radix: 16) + "-" + String(low, radix: 16) }
}
