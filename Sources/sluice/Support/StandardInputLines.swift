import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lines of standard input, read on a thread of their own (a blocking read must never hold one
/// of the cooperative pool's threads) and handed over in chunks. At most ``chunksAhead`` chunks
/// of ``chunkLinesMax`` lines wait to be taken, so a fast pipe into a slow cluster holds bounded
/// memory.
final class StandardInputLines: Sendable {
    static let chunkLinesMax = 1000
    static let chunksAhead = 4

    /// The chunks, in input order; call ``didTake()`` for each one taken.
    let chunks: AsyncStream<[String]>
    /// A permit per chunk the reader may read ahead.
    private let permits = DispatchSemaphore(value: StandardInputLines.chunksAhead)
    private let stopped = Locked(false)

    init() {
        let (stream, continuation) = AsyncStream<[String]>.makeStream(bufferingPolicy: .unbounded)
        chunks = stream
        let permits = permits
        let stopped = stopped
        ReaderThread.start {
            var chunk: [String] = []
            permits.wait()
            while !stopped.withLock({ $0 }), let line = readLine(strippingNewline: true) {
                chunk.append(line)
                if chunk.count >= Self.chunkLinesMax {
                    continuation.yield(chunk)
                    chunk = []
                    permits.wait()
                }
            }
            if !chunk.isEmpty { continuation.yield(chunk) }
            continuation.finish()
        }
    }

    /// Lets the reader read one more chunk ahead.
    func didTake() {
        permits.signal()
    }

    /// Stops reading ahead (the reader ends at its next line).
    func stop() {
        stopped.withLock { $0 = true }
        permits.signal()
    }
}

/// A thread outside the cooperative pool for blocking reads.
enum ReaderThread {
    static func start(_ body: @escaping @Sendable () -> Void) {
        DispatchQueue(label: "sluice.stdin").async(execute: body)
    }
}
