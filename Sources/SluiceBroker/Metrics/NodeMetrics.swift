import CoreMetrics
import Prometheus
import SluiceWire

/// One node's hot-path metrics: what happens per request, connection or handshake, recorded
/// through swift-metrics handles into this node's own Prometheus registry (docs/METRICS.md).
///
/// Why a registry per node and not `MetricsSystem.bootstrap`: the global bootstrap can run
/// once per process, and tests run several nodes in one process; each node's `/metrics` must
/// show only its own counts. The handles are made with an explicit `factory:`.
///
/// Cheap on the hot path: every handle a request touches is created here, up front, and kept
/// in immutable tables, so recording is a table lookup plus swift-prometheus' own atomic add
/// (counters) or its per-histogram lock (latencies). Only error codes are created on first use
/// (the registry's lookup under its lock), since most requests have none.
///
/// Gauges derived from state (log offsets, ISR, Raft, groups) are not here: `NodeMetricsCollector`
/// computes them when `/metrics` is scraped.
public final class NodeMetrics: Sendable {
    /// Where the handles record; `render()` emits it.
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// The listeners counted separately (the `listener` label).
    public enum Listener: String, Sendable, CaseIterable {
        case client
        case interNode = "inter_node"
    }

    private struct APIHandles: Sendable {
        let requests: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }

    private struct ListenerHandles: Sendable {
        let open: CoreMetrics.Meter
        let accepted: CoreMetrics.Counter
        let bytesIn: CoreMetrics.Counter
        let bytesOut: CoreMetrics.Counter
        let tlsHandshakes: CoreMetrics.Counter
        let tlsHandshakeFailures: CoreMetrics.Counter
    }

    private let apis: [Int16: APIHandles]
    /// Produce latency by `acks` (-1, 0, 1), beside the per-API latency.
    private let produceByAcks: [Int16: CoreMetrics.Timer]
    private let listeners: [Listener: ListenerHandles]
    let isrShrinks: CoreMetrics.Counter
    let isrExpands: CoreMetrics.Counter

    /// Request latency buckets: 0.5 ms to 10 s. Kafka requests range from sub-millisecond
    /// metadata answers to `acks=all` produces waiting for followers and long-polled fetches
    /// (up to their `maxWaitMs`, 500 ms by default in most clients).
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.registry = registry
        self.factory = factory
        var apis: [Int16: APIHandles] = [:]
        // The APIs this node serves (what ApiVersions advertises): a request for any other
        // closes its connection before a handler runs, so it is never counted.
        for key in RequestDispatcher.advertised.map(\.key) {
            let api = [("api", key.description)]
            apis[key.rawValue] = APIHandles(
                requests: Counter(label: "sluice_requests_total", dimensions: api, factory: factory),
                duration: Timer(label: "sluice_request_duration_seconds", dimensions: api, factory: factory))
        }
        self.apis = apis
        var produceByAcks: [Int16: CoreMetrics.Timer] = [:]
        for acks: Int16 in [-1, 0, 1] {
            produceByAcks[acks] = Timer(label: "sluice_produce_duration_seconds", dimensions: [("acks", "\(acks)")],
                                        factory: factory)
        }
        self.produceByAcks = produceByAcks
        var listeners: [Listener: ListenerHandles] = [:]
        for listener in Listener.allCases {
            let l = [("listener", listener.rawValue)]
            listeners[listener] = ListenerHandles(
                open: Meter(label: "sluice_connections_open", dimensions: l, factory: factory),
                accepted: Counter(label: "sluice_connections_accepted_total", dimensions: l, factory: factory),
                bytesIn: Counter(label: "sluice_network_received_bytes_total", dimensions: l, factory: factory),
                bytesOut: Counter(label: "sluice_network_sent_bytes_total", dimensions: l, factory: factory),
                tlsHandshakes: Counter(label: "sluice_tls_handshakes_total", dimensions: l, factory: factory),
                tlsHandshakeFailures: Counter(label: "sluice_tls_handshake_failures_total", dimensions: l, factory: factory))
        }
        self.listeners = listeners
        isrShrinks = Counter(label: "sluice_isr_shrinks_total", factory: factory)
        isrExpands = Counter(label: "sluice_isr_expands_total", factory: factory)
    }

    // MARK: requests

    /// One request answered (or not: acks=0), `duration` after its frame arrived.
    func requestHandled(api: Int16, duration: Duration, acks: Int16? = nil) {
        guard let handles = apis[api] else { return }
        handles.requests.increment()
        handles.duration.recordNanoseconds(duration.wholeNanoseconds)
        if let acks { produceByAcks[acks]?.recordNanoseconds(duration.wholeNanoseconds) }
    }

    /// Error codes a response carried (one per partition or resource that failed). Only
    /// codes other than NONE reach here. The label set is bounded by Kafka's error codes.
    func requestErrors(api: Int16, codes: [Int16]) {
        let name = KafkaAPIKey(rawValue: api)?.description ?? "\(api)"
        for code in codes where code != 0 {
            let error = KafkaErrorCode(rawValue: code)?.name ?? "UNKNOWN"
            Counter(label: "sluice_request_errors_total",
                    dimensions: [("api", name), ("code", "\(code)"), ("error", error)], factory: factory).increment()
        }
    }

    // MARK: listeners

    func connectionOpened(_ listener: Listener) {
        listeners[listener]!.open.increment()
        listeners[listener]!.accepted.increment()
    }

    func connectionClosed(_ listener: Listener) { listeners[listener]!.open.decrement() }
    func received(bytes: Int, on listener: Listener) { listeners[listener]!.bytesIn.increment(by: bytes) }
    func sent(bytes: Int, on listener: Listener) { listeners[listener]!.bytesOut.increment(by: bytes) }

    func tlsHandshake(on listener: Listener, succeeded: Bool) {
        let handles = listeners[listener]!
        handles.tlsHandshakes.increment()
        if !succeeded { handles.tlsHandshakeFailures.increment() }
    }

    /// The hot-path metrics in Prometheus text exposition format.
    func renderCounters() -> String { registry.emitToString() }
}

extension Duration {
    /// Whole nanoseconds, saturating (a request never takes 292 years).
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
