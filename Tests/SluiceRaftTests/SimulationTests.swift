import SluiceCore
import SluiceSimulation
import Testing

/// The seeded simulator as a test: random faults with safety checks after every step, then a
/// healed liveness phase. `sluice-sim --seeds N` runs the same thing for more seeds.
@Suite("Raft simulation")
struct SimulationTests {
    static let seedsPerSize: UInt64 = 300

    static func failures(voters: Int, seeds: ClosedRange<UInt64>, bug: BugInjection = .none) -> [Simulation.Result] {
        seeds.compactMap { seed in
            var o = SimulationOptions.forSeed(seed, voterCount: voters, learnerCount: seed % 3 == 0 ? 1 : 0)
            o.bug = bug
            let r = Simulation.run(o)
            return r.passed ? nil : r
        }
    }

    static func describe(_ failures: [Simulation.Result]) -> Comment {
        guard let f = failures.first else { return "" }
        return Comment(rawValue: "seed \(f.seed): \(f.violation!)\n" + f.trace.suffix(60).joined(separator: "\n"))
    }

    @Test func threeVoterClustersKeepEverySafetyPropertyAcrossRandomSeeds() {
        let failed = Self.failures(voters: 3, seeds: 1...Self.seedsPerSize)
        #expect(failed.isEmpty, Self.describe(failed))
    }

    @Test func fiveVoterClustersKeepEverySafetyPropertyAcrossRandomSeeds() {
        let failed = Self.failures(voters: 5, seeds: 1...Self.seedsPerSize)
        #expect(failed.isEmpty, Self.describe(failed))
    }

    @Test func theCheckerCatchesASplitBrainConfiguration() {
        let r = Simulation.run(SimulationOptions.forSeed(1, voterCount: 5).with(bug: .splitConfiguration))
        #expect(r.violation != nil)
    }

    @Test func theCheckerCatchesNodesThatForgetTheirVoteOnRestart() {
        let found = (1...100 as ClosedRange<UInt64>).lazy.map {
            Simulation.run(SimulationOptions.forSeed($0, voterCount: 3).with(bug: .forgetVoteOnRestart))
        }.first { !$0.passed }
        #expect(found?.violation?.contains("Safety") == true)
    }

    @Test func theCheckerCatchesADriverThatAcknowledgesBeforeFsync() {
        // Stop at the first failure: after it, the run is outside Raft's model.
        let found = (1...50 as ClosedRange<UInt64>).lazy.map {
            Simulation.run(SimulationOptions.forSeed($0, voterCount: 3).with(bug: .sendBeforeFsync))
        }.first { !$0.passed }
        #expect(found?.violation != nil)
    }

    @Test func theSameSeedReplaysTheSameRun() {
        let a = Simulation.run(SimulationOptions.forSeed(42, voterCount: 5, learnerCount: 1))
        let b = Simulation.run(SimulationOptions.forSeed(42, voterCount: 5, learnerCount: 1))
        #expect(a.trace == b.trace && a.acknowledgedProposals == b.acknowledgedProposals && a.ticks == b.ticks)
        let c = Simulation.run(SimulationOptions.forSeed(43, voterCount: 5, learnerCount: 1))
        #expect(a.trace != c.trace)
    }

    @Test func aRunCommitsProposalsThroughCrashesAndInstallsSnapshots() {
        var acked = 0, crashes = 0, snapshots = 0
        for seed: UInt64 in 1...20 {
            let r = Simulation.run(SimulationOptions.forSeed(seed, voterCount: 3))
            acked += r.acknowledgedProposals
            crashes += r.crashes
            snapshots += r.snapshotsInstalled
        }
        // Guards against a simulator that checks nothing because nothing happens.
        #expect(acked > 500 && crashes > 50 && snapshots > 5)
    }
}

extension SimulationOptions {
    func with(bug: BugInjection) -> SimulationOptions {
        var o = self
        o.bug = bug
        return o
    }
}
