import SluiceSimulation
import Testing

/// The consumer-group simulator as a test: random joins, leaves, crashes, zombies, static
/// restarts and controller failovers with every check after every step, then liveness.
/// `sluice-sim groups --seeds N` runs the same thing for more seeds.
@Suite("Group simulation")
struct GroupSimulationTests {
    static func firstFailure(_ seeds: ClosedRange<UInt64>, bug: GroupBugInjection = .none) -> GroupSimulation.Result? {
        for seed in seeds {
            var options = GroupSimulationOptions(seed: seed)
            options.bug = bug
            let r = GroupSimulation.run(options)
            if !r.passed { return r }
        }
        return nil
    }

    static func describe(_ r: GroupSimulation.Result?) -> Comment {
        guard let r else { return "" }
        return Comment(rawValue: "\(r.violation!)\n" + r.trace.suffix(60).joined(separator: "\n"))
    }

    @Test func everyCheckHoldsAcrossThreeHundredSeeds() {
        let failure = Self.firstFailure(1...300)
        #expect(failure == nil, Self.describe(failure))
    }

    @Test func theSameSeedReplaysTheSameRun() {
        let a = GroupSimulation.run(GroupSimulationOptions(seed: 42))
        let b = GroupSimulation.run(GroupSimulationOptions(seed: 42))
        let c = GroupSimulation.run(GroupSimulationOptions(seed: 43))
        #expect(a.digest == b.digest && a.trace == b.trace)
        #expect(a.digest != c.digest)
        #expect(a.committedEntries > 0 && a.acknowledgedCommits > 0)
    }

    @Test func runsExerciseFailoversZombiesAndStaticRestarts() {
        var failovers = 0, pauses = 0, restarts = 0, generations = 0
        for seed: UInt64 in 1...20 {
            let r = GroupSimulation.run(GroupSimulationOptions(seed: seed))
            failovers += r.failovers
            pauses += r.pauses
            restarts += r.staticRestarts
            generations += r.generations
        }
        #expect(failovers > 10 && pauses > 5 && restarts > 5 && generations > 100)
    }

    @Test("the checker catches an injected coordinator bug", arguments: [GroupBugInjection.acceptCommitsFromUnknownMembers, .keepGenerationOnRebalance])
    func injectedBugIsCaught(bug: GroupBugInjection) {
        #expect(Self.firstFailure(1...10, bug: bug) != nil)
    }
}
