import Dispatch
import SluiceClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one loop over a ``Consumer`` that ends after a number of records, after a quiet spell
/// (no record for `idleTimeout`), on Ctrl-C, or when `handle` says so, and closes the consumer
/// (which commits what was handed out, for a group) in every case.
///
/// Idle and Ctrl-C stop the loop by closing the consumer, which ends its sequence: the loop
/// never blocks on anything else, so no record is half-handled.
struct ConsumeSession {
    /// Why the loop ended.
    enum StopReason: String, Sendable, Encodable {
        /// `count` records were handled.
        case count
        /// No record arrived within the idle timeout.
        case idle
        /// Ctrl-C (SIGINT) or SIGTERM.
        case interrupted
        /// The handler asked to stop.
        case done
    }

    var consumer: Consumer
    /// Records to handle before stopping (nil: no limit).
    var count: Int?
    /// Stop after this long without a record (nil: never).
    var idleTimeout: Duration?

    /// Iterates until a stop condition; `handle` returns false to stop early.
    func run(_ handle: (ConsumerRecord) throws -> Bool) async throws -> StopReason {
        let state = Locked<(last: ContinuousClock.Instant, reason: StopReason?)>((.now, nil))
        let consumer = consumer
        let interrupts = InterruptWatch {
            state.withLock { if $0.reason == nil { $0.reason = .interrupted } }
            Task { await consumer.close() }
        }
        defer { interrupts.cancel() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if let idleTimeout {
                group.addTask {
                    while !Task.isCancelled {
                        let last = state.withLock { $0.last }
                        let due = last + idleTimeout
                        if ContinuousClock.now >= due {
                            state.withLock { if $0.reason == nil { $0.reason = .idle } }
                            await consumer.close()
                            return
                        }
                        try? await Task.sleep(until: due, clock: .continuous)
                    }
                }
            }
            defer { group.cancelAll() }
            var handled = 0
            var reason: StopReason?
            if count == 0 { reason = .count }
            if reason == nil {
                for try await record in consumer {
                    state.withLock { $0.last = .now }
                    let goOn = try handle(record)
                    handled += 1
                    if let count, handled >= count { reason = .count; break }
                    if !goOn { reason = .done; break }
                }
            }
            await consumer.close()
            return reason ?? state.withLock { $0.reason } ?? .done
        }
    }
}

/// Calls `onInterrupt` on SIGINT or SIGTERM while it lives (the default action, ending the
/// process, is restored by ``cancel()``).
final class InterruptWatch {
    private let sources: [any DispatchSourceSignal]

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: onInterrupt)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
