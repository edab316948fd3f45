import Foundation

/// One benchmark suite of `sluice-bench`. Every figure is reported beside a reference measured
/// in the same run (memcpy, raw disk write, plaintext TCP, a peer broker), because an absolute
/// number on a shared 2-core machine means little; the ratio is what docs/BENCHMARKS.md keeps.
protocol BenchmarkSuite: Sendable {
    /// The name given on the command line (`sluice-bench records`).
    static var name: String { get }
    /// One line saying what the suite measures.
    static var summary: String { get }
    static func run(_ report: inout BenchmarkReport) async throws
}

/// A figure and, where it has one, the reference it is compared with.
struct BenchmarkFigure {
    var name: String
    var value: Double
    var unit: String
    var referenceName: String?
    var referenceValue: Double?

    var ratio: Double? { referenceValue.map { value / $0 } }
}

/// Collects figures and prints them as a Markdown table for docs/BENCHMARKS.md.
struct BenchmarkReport {
    private(set) var figures: [BenchmarkFigure] = []

    mutating func add(_ name: String, _ value: Double, _ unit: String,
                      reference: (name: String, value: Double)? = nil) {
        let figure = BenchmarkFigure(name: name, value: value, unit: unit,
                                     referenceName: reference?.name, referenceValue: reference?.value)
        figures.append(figure)
        print("  \(name): \(format(value)) \(unit)"
              + (reference.map { " (\($0.name): \(format($0.value)) \(unit), ratio \(format(figure.ratio!)))" } ?? ""))
    }

    func markdown(title: String) -> String {
        var lines = ["### \(title)", "", "| measurement | value | reference | ratio |", "| --- | --- | --- | --- |"]
        for f in figures {
            let ref = f.referenceName.map { "\($0): \(format(f.referenceValue!)) \(f.unit)" } ?? "–"
            let ratio = f.ratio.map { format($0) } ?? "–"
            lines.append("| \(f.name) | \(format(f.value)) \(f.unit) | \(ref) | \(ratio) |")
        }
        return lines.joined(separator: "\n")
    }
}

func format(_ x: Double) -> String {
    if x >= 100 { return String(format: "%.0f", x) }
    if x >= 10 { return String(format: "%.1f", x) }
    return String(format: "%.2f", x)
}

/// Runs `body` (which processes `bytes` bytes per call) repeatedly for at least `duration`,
/// three times, and returns the best throughput in GB/s (10^9 bytes per second). Best-of-three
/// filters out the other core's noise on a shared machine.
func throughputGBps(bytes: Int, duration: Duration = .milliseconds(400), _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    var best = 0.0
    for _ in 0..<3 {
        var iterations = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            body()
            iterations += 1
            elapsed = clock.now - start
        } while elapsed < duration
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        best = max(best, Double(bytes) * Double(iterations) / seconds / 1e9)
    }
    return best
}

/// The memcpy reference: copying `size` bytes between two buffers, in GB/s.
func memcpyGBps(size: Int) -> Double {
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { source.deallocate(); destination.deallocate() }
    for i in 0..<size { source[i] = UInt8(truncatingIfNeeded: i &* 31) }
    return throughputGBps(bytes: size) {
        memcpy(destination.baseAddress!, source.baseAddress!, size)
    }
}
