import Histogram

/// Latencies recorded in microseconds into an HDR histogram (1 µs to 10 minutes, three
/// significant digits: a fixed few hundred KiB whatever the record count).
struct LatencyHistogram: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000,
                                              numberOfSignificantValueDigits: .three)

    mutating func record(_ duration: Duration) {
        let parts = duration.components
        let micros = max(1, parts.seconds * 1_000_000 + parts.attoseconds / 1_000_000_000_000)
        _ = histogram.record(UInt64(min(micros, 600_000_000)))
    }

    /// p50, p99, p99.9 and max in milliseconds.
    var summary: LatencySummary {
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        return LatencySummary(
            count: histogram.totalCount, p50: ms(histogram.valueAtPercentile(50)), p99: ms(histogram.valueAtPercentile(99)),
            p999: ms(histogram.valueAtPercentile(99.9)), max: ms(histogram.max))
    }
}

/// Latency percentiles in milliseconds.
struct LatencySummary: Encodable, Sendable {
    var count: UInt64
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
}

/// What a benchmark run measured, printed as text or as one JSON document.
struct BenchResult: Encodable {
    var kind: String
    var topic: String
    var records: Int
    var bytes: Int
    var seconds: Double
    var recordsPerSecond: Double
    var mbPerSecond: Double
    var latencyMs: LatencySummary
    var latencyMeaning: String
    var settings: [String: String]

    init(kind: String, topic: String, records: Int, bytes: Int, elapsed: Duration, latency: LatencySummary,
         latencyMeaning: String, settings: [String: String]) {
        self.kind = kind
        self.topic = topic
        self.records = records
        self.bytes = bytes
        let parts = elapsed.components
        seconds = max(1e-9, Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        recordsPerSecond = Double(records) / seconds
        mbPerSecond = Double(bytes) / seconds / 1_000_000
        latencyMs = latency
        self.latencyMeaning = latencyMeaning
        self.settings = settings
    }

    func print(_ output: OutputOptions) throws {
        if output.isJSON {
            try output.printJSON(self)
            return
        }
        let settingsText = settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        Swift.print("""
            \(kind) \(topic): \(records) records in \(Decimal3(seconds)) s\(settingsText.isEmpty ? "" : " (\(settingsText))")
            throughput: \(Int(recordsPerSecond.rounded())) records/s, \(Decimal3(mbPerSecond)) MB/s
            latency (\(latencyMeaning)), ms: p50 \(Decimal3(latencyMs.p50))  p99 \(Decimal3(latencyMs.p99))  \
            p99.9 \(Decimal3(latencyMs.p999))  max \(Decimal3(latencyMs.max))
            """)
    }
}

/// A number with three decimals.
struct Decimal3: CustomStringConvertible {
    var value: Double
    init(_ value: Double) { self.value = value }
    var description: String {
        guard value.isFinite else { return "∞" }
        let thousandths = Int64((value * 1000).rounded())
        let fraction = String(abs(thousandths) % 1000)
        return (thousandths < 0 ? "-" : "") + "\(abs(thousandths) / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
