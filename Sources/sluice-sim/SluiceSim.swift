import SluiceCore
import SluiceSimulation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sluice-sim`: run the seeded Raft simulator.
///
///     sluice-sim --seed N [--nodes 3|5] [--learners K] [--bug NAME]   one seed, verbose
///     sluice-sim --seeds COUNT [--first N] [--nodes 3|5]              many seeds, stop at the first failure
///     sluice-sim groups (--seed N | --seeds COUNT [--first N]) [--bug NAME] [--trace]
///                                                                     the consumer-group simulator
///     sluice-sim replication (--seed N | --seeds COUNT [--first N]) [--inject NAME] [--trace]
///                            [--flush none|always] [--crash-rate R] [--loss R] [--bit-flips R]
///                                                                     the partition-replication simulator
///
/// Without `--nodes`, `--seeds` alternates 3 and 5 voters (odd seeds 5). A failing seed is
/// printed with its event trace and the exit status is 1.
@main
struct SluiceSim {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "groups" {
            groups(Array(args.dropFirst()))
        }
        if args.first == "replication" {
            replication(Array(args.dropFirst()))
        }
        func value(_ flag: String) -> String? {
            guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
            defer { args.removeSubrange(i...(i + 1)) }
            return args[i + 1]
        }
        let seed = value("--seed").flatMap(UInt64.init)
        let count = value("--seeds").flatMap(Int.init)
        let first = value("--first").flatMap(UInt64.init) ?? 1
        let nodes = value("--nodes").flatMap(Int.init)
        let learners = value("--learners").flatMap(Int.init)
        let bug = value("--bug").flatMap(BugInjection.init(rawValue:)) ?? BugInjection.none
        let faultTicks = value("--ticks").flatMap(Int.init)
        let traceEvents = value("--trace-events").flatMap(Int.init)
        let showTrace = args.contains("--trace")
        args.removeAll { $0 == "--trace" }
        guard args.isEmpty, seed != nil || count != nil, nodes == nil || nodes == 3 || nodes == 5 else {
            print("usage: sluice-sim (--seed N | --seeds COUNT [--first N]) [--nodes 3|5] [--learners K] [--ticks T] [--trace] [--trace-events N] [--bug \(BugInjection.allCases.map(\.rawValue).joined(separator: "|"))]")
            exit(2)
        }
        func options(_ s: UInt64) -> SimulationOptions {
            let voters = nodes ?? (s % 2 == 1 ? 5 : 3)
            var o = SimulationOptions.forSeed(s, voterCount: voters, learnerCount: learners ?? Int(s % 3 == 0 ? 1 : 0))
            o.bug = bug
            if let faultTicks { o.faultTicks = faultTicks }
            if let traceEvents { o.traceEventsMax = traceEvents }
            return o
        }
        if let seed {
            var o = options(seed)
            o.traceMessages = true
            let r = Simulation.run(o)
            report(r, verbose: true)
            if showTrace && r.passed { for line in r.trace { print("  \(line)") } }
            exit(r.passed ? 0 : 1)
        }
        var ticks = 0, acked = 0, crashes = 0, torn = 0, snapshots = 0
        for s in first..<(first + UInt64(count!)) {
            let r = Simulation.run(options(s))
            ticks += r.ticks; acked += r.acknowledgedProposals; crashes += r.crashes; torn += r.tornCrashes; snapshots += r.snapshotsInstalled
            if !r.passed {
                // Replay with every message traced: recording consumes no randomness, so the
                // replay is the same run.
                var traced = options(s)
                traced.traceMessages = true
                report(Simulation.run(traced), verbose: true)
                print("FAILED at seed \(s); reproduce: sluice-sim --seed \(s)\(nodes.map { " --nodes \($0)" } ?? "")")
                exit(1)
            }
            if (s - first + 1) % 1000 == 0 { print("… \(s - first + 1) seeds passed") }
        }
        print("\(count!) seeds passed (\(first)…\(first + UInt64(count!) - 1)): \(ticks) ticks, \(acked) acknowledged proposals, \(crashes) crashes (\(torn) with unsynced writes), \(snapshots) snapshots installed")
    }

    static func report(_ r: Simulation.Result, verbose: Bool) {
        if let v = r.violation {
            print("seed \(r.seed): VIOLATION: \(v)")
            print("last \(r.trace.count) events:")
            for line in r.trace { print("  \(line)") }
            print("seed \(r.seed): VIOLATION: \(v)")
        } else {
            print("seed \(r.seed): ok — \(r.ticks) ticks, \(r.leaderTerms) leader terms, \(r.acknowledgedProposals) acknowledged, \(r.committedEntries) committed, \(r.crashes) crashes (\(r.tornCrashes) torn), \(r.snapshotsInstalled) snapshots installed")
        }
    }

    /// `sluice-sim groups ...`: the consumer-group simulator (`GroupSimulation`).
    static func groups(_ arguments: [String]) -> Never {
        var args = arguments
        func value(_ flag: String) -> String? {
            guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
            defer { args.removeSubrange(i...(i + 1)) }
            return args[i + 1]
        }
        let seed = value("--seed").flatMap(UInt64.init)
        let count = value("--seeds").flatMap(Int.init)
        let first = value("--first").flatMap(UInt64.init) ?? 1
        let bugName = value("--bug")
        let bug = bugName.flatMap(GroupBugInjection.init(rawValue:)) ?? GroupBugInjection.none
        let showTrace = args.contains("--trace")
        args.removeAll { $0 == "--trace" }
        guard args.isEmpty, seed != nil || count != nil, bugName == nil || bug.rawValue == bugName else {
            print("usage: sluice-sim groups (--seed N | --seeds COUNT [--first N]) [--trace] [--bug \(GroupBugInjection.allCases.map(\.rawValue).joined(separator: "|"))]")
            exit(2)
        }
        func options(_ s: UInt64) -> GroupSimulationOptions {
            var o = GroupSimulationOptions(seed: s)
            o.bug = bug
            return o
        }
        func report(_ r: GroupSimulation.Result) {
            if let v = r.violation {
                printViolation(v, trace: r.trace)
            } else {
                print("seed \(r.seed): ok — \(r.committedEntries) entries committed, \(r.acknowledgedCommits) commits acknowledged, \(r.generations) generations, \(r.failovers) failovers, \(r.crashes) crashes, \(r.pauses) pauses, \(r.staticRestarts) static restarts")
            }
        }
        if let seed {
            let r = GroupSimulation.run(options(seed))
            report(r)
            if showTrace && r.passed { for line in r.trace { print("  \(line)") } }
            exit(r.passed ? 0 : 1)
        }
        var entries = 0, acked = 0, generations = 0, failovers = 0
        for s in first..<(first + UInt64(count!)) {
            let r = GroupSimulation.run(options(s))
            entries += r.committedEntries; acked += r.acknowledgedCommits; generations += r.generations; failovers += r.failovers
            if !r.passed {
                report(r)
                print("FAILED at seed \(s); reproduce: sluice-sim groups --seed \(s)\(bug == .none ? "" : " --bug \(bug.rawValue)")")
                exit(1)
            }
            if (s - first + 1) % 1000 == 0 { print("… \(s - first + 1) seeds passed") }
        }
        print("\(count!) group seeds passed (\(first)…\(first + UInt64(count!) - 1)): \(entries) entries committed, \(acked) commits acknowledged, \(generations) generations, \(failovers) failovers")
        exit(0)
    }

    /// A failed run's trace, then what it violated (last, so it ends the output).
    static func printViolation(_ violation: String, trace: [String]) {
        print("last \(trace.count) events:")
        for line in trace { print("  \(line)") }
        print("VIOLATION: \(violation)")
    }

    /// `sluice-sim replication ...`: the partition-replication simulator (`ReplicationSimulation`).
    /// With `--inject`, a run that finds no violation is the failure: the checker missed the bug.
    static func replication(_ arguments: [String]) -> Never {
        var args = arguments
        func value(_ flag: String) -> String? {
            guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
            defer { args.removeSubrange(i...(i + 1)) }
            return args[i + 1]
        }
        let seed = value("--seed").flatMap(UInt64.init)
        let count = value("--seeds").flatMap(Int.init)
        let first = value("--first").flatMap(UInt64.init) ?? 1
        let bugName = value("--inject")
        let crashRate = value("--crash-rate").flatMap(Double.init)
        let lossRate = value("--loss").flatMap(Double.init)
        let bitFlipRate = value("--bit-flips").flatMap(Double.init)
        let flush = value("--flush")
        let bug = bugName.flatMap(ReplicationBugInjection.init(rawValue:)) ?? ReplicationBugInjection.none
        let showTrace = args.contains("--trace")
        args.removeAll { $0 == "--trace" }
        guard args.isEmpty, seed != nil || count != nil, bugName == nil || bug.rawValue == bugName,
            flush == nil || flush == "none" || flush == "always"
        else {
            print("usage: sluice-sim replication (--seed N | --seeds COUNT [--first N]) [--trace] [--flush none|always] [--crash-rate R] [--loss R] [--bit-flips R] [--inject \(ReplicationBugInjection.allCases.map(\.rawValue).joined(separator: "|"))]")
            exit(2)
        }
        func options(_ s: UInt64) -> ReplicationSimulationOptions {
            var o = ReplicationSimulationOptions(seed: s)
            o.bug = bug
            if let crashRate { o.crashRate = crashRate }
            if let lossRate { o.messageLossRate = lossRate }
            if let bitFlipRate {
                o.bitFlipRate = bitFlipRate
                o.segmentBytes = 1_024  // closed segments to damage early in the run
            }
            if let flush { o.flush = flush == "always" ? .always : .none }
            return o
        }
        func report(_ r: ReplicationSimulation.Result) {
            if let v = r.violation {
                printViolation(v, trace: r.trace)
            } else {
                print("seed \(r.seed): ok — \(r.acknowledgedBatches) batches acknowledged, \(r.servedBatches) served, \(r.leaderEpochs) leaderships, \(r.isrChanges) ISR changes, \(r.truncations) truncations, \(r.crashes) crashes (\(r.lossyCrashes) lost unsynced bytes), \(r.leaderlessPartitions) partitions kept leaderless")
            }
        }
        if let seed {
            let r = ReplicationSimulation.run(options(seed))
            report(r)
            if showTrace && r.passed { for line in r.trace { print("  \(line)") } }
            exit(r.passed ? 0 : 1)
        }
        var acked = 0, served = 0, leaderships = 0, crashes = 0, lossy = 0, truncations = 0, leaderless = 0
        let started = ContinuousClock.now
        for s in first..<(first + UInt64(count!)) {
            let r = ReplicationSimulation.run(options(s))
            acked += r.acknowledgedBatches; served += r.servedBatches; leaderships += r.leaderEpochs
            crashes += r.crashes; lossy += r.lossyCrashes; truncations += r.truncations; leaderless += r.leaderlessPartitions
            if !r.passed {
                report(r)
                print("\(bug == .none ? "FAILED" : "caught \(bug.rawValue)") at seed \(s); reproduce: sluice-sim replication --seed \(s)\(bug == .none ? "" : " --inject \(bug.rawValue)")")
                exit(bug == .none ? 1 : 0)
            }
            if (s - first + 1) % 1000 == 0 { print("… \(s - first + 1) seeds passed (\(ContinuousClock.now - started))") }
        }
        print("\(count!) replication seeds passed (\(first)…\(first + UInt64(count!) - 1)) in \(ContinuousClock.now - started): \(acked) batches acknowledged, \(served) served, \(leaderships) leaderships, \(truncations) truncations, \(crashes) crashes (\(lossy) lost unsynced bytes), \(leaderless) partitions kept leaderless with a reason")
        exit(bug == .none ? 0 : 1)
    }
}
