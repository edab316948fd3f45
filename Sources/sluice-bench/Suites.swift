/// Every suite `sluice-bench` knows. Each lives in its own `…Benchmark.swift` file.
let allSuites: [any BenchmarkSuite.Type] = [
    MemcpyBenchmark.self,
    StorageBenchmark.self,
    WireBenchmark.self,
    TLSBenchmark.self,
    RecordsBenchmark.self,
    RaftBenchmark.self,
]

/// The reference every in-memory suite compares against, on its own.
enum MemcpyBenchmark: BenchmarkSuite {
    static let name = "memcpy"
    static let summary = "memcpy bandwidth for 16 KiB and 1 MiB buffers (the in-memory reference)"
    static func run(_ report: inout BenchmarkReport) async throws {
        for size in [16 * 1024, 1024 * 1024] {
            report.add("memcpy \(size / 1024) KiB", memcpyGBps(size: size), "GB/s")
        }
    }
}
