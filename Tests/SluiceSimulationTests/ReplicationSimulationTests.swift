import SluiceSimulation
import Testing

/// The replication simulator as a test: the real replication core, partition log and
/// controller under crashes, pauses, cut-off nodes, leader moves and message loss, with every
/// check after every step, then healing and convergence. `sluice-sim replication --seeds N`
/// runs the same thing for more seeds.
@Suite("Replication simulation")
struct ReplicationSimulationTests {
    static func firstFailure(_ seeds: ClosedRange<UInt64>, bug: ReplicationBugInjection = .none,
                             adjust: (inout ReplicationSimulationOptions) -> Void = { _ in }) -> ReplicationSimulation.Result? {
        for seed in seeds {
            var options = ReplicationSimulationOptions(seed: seed)
            options.bug = bug
            adjust(&options)
            let r = ReplicationSimulation.run(options)
            if !r.passed { return r }
        }
        return nil
    }

    static func describe(_ r: ReplicationSimulation.Result?) -> Comment {
        guard let r else { return "" }
        return Comment(rawValue: "\(r.violation!)\n" + r.trace.suffix(60).joined(separator: "\n"))
    }

    /// 500 seeds in five slices, which Swift Testing runs in parallel. Every fourth seed
    /// fsyncs every append (`flush = always`), every other one has two partitions.
    @Test("every check holds across 500 seeds", arguments: 0..<5)
    func everyCheckHolds(slice: UInt64) {
        let failure = Self.firstFailure((slice * 100 + 1)...(slice * 100 + 100))
        #expect(failure == nil, Self.describe(failure))
    }

    /// Crashes four times as often: with `flush = always` even a crash of every replica at
    /// once must lose nothing acknowledged; with `flush = none` only a loss on as many
    /// replicas as min.insync.replicas is excused.
    @Test("frequent crashes keep every check", arguments: [false, true])
    func frequentCrashes(flushAlways: Bool) {
        let failure = Self.firstFailure(1...40) { o in
            o.crashRate = 0.1
            o.flush = flushAlways ? .always : .none
        }
        #expect(failure == nil, Self.describe(failure))
    }

    @Test func theSameSeedReplaysTheSameRun() {
        let a = ReplicationSimulation.run(ReplicationSimulationOptions(seed: 42))
        let b = ReplicationSimulation.run(ReplicationSimulationOptions(seed: 42))
        let c = ReplicationSimulation.run(ReplicationSimulationOptions(seed: 43))
        #expect(a.digest == b.digest && a.trace == b.trace)
        #expect(a.digest != c.digest)
    }

    /// The checker is not checking an idle cluster: runs acknowledge and serve batches, move
    /// leaders, change ISRs, truncate divergent tails and lose unsynced bytes in crashes.
    @Test func runsReallyReplicateFailOverAndTruncate() {
        var acked = 0, served = 0, leaderships = 0, isrChanges = 0, truncations = 0, lossy = 0
        for seed: UInt64 in 1...30 {
            let r = ReplicationSimulation.run(ReplicationSimulationOptions(seed: seed))
            acked += r.acknowledgedBatches
            served += r.servedBatches
            leaderships += r.leaderEpochs
            isrChanges += r.isrChanges
            truncations += r.truncations
            lossy += r.lossyCrashes
        }
        #expect(acked > 1_000 && served > 1_000)
        #expect(leaderships > 30 * 3 && isrChanges > 100)
        #expect(truncations > 10 && lossy > 10)
    }

    /// Each injected wiring bug breaks what the checker names.
    @Test("the checker catches an injected bug", arguments: [
        (ReplicationBugInjection.hwFromLeaderAlone, "without the committed batch"),
        (.truncateByHW, "truncates the committed batch"),
        (.electOutsideISR, "without the committed batch"),
    ])
    func injectedBugIsCaught(bug: ReplicationBugInjection, symptom: String) {
        let failure = Self.firstFailure(1...20, bug: bug)
        #expect(failure?.violation?.contains(symptom) == true, "\(failure?.violation ?? "no violation in 20 seeds")")
    }
}
