import Foundation

/// `sluice-bench [SUITE…]`: runs the named suites (all when none is named) in a release build
/// and prints each figure with its same-run reference, then a Markdown table per suite.
@main
enum SluiceBench {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--help") || arguments.contains("-h") {
            print("usage: sluice-bench [SUITE…]\n\nsuites:")
            for suite in allSuites { print("  \(suite.name)  \(suite.summary)") }
            return
        }
        let unknown = arguments.filter { name in !allSuites.contains { $0.name == name } }
        guard unknown.isEmpty else {
            FileHandle.standardError.write(Data("sluice-bench: unknown suite \(unknown.joined(separator: ", ")); try --help\n".utf8))
            exit(2)
        }
        #if DEBUG
        print("warning: this is a debug build; run `make bench` (release) for figures worth keeping")
        #endif
        let chosen = arguments.isEmpty ? allSuites : allSuites.filter { arguments.contains($0.name) }
        var tables: [String] = []
        for suite in chosen {
            print("== \(suite.name): \(suite.summary)")
            var report = BenchmarkReport()
            try await suite.run(&report)
            tables.append(report.markdown(title: suite.name))
        }
        print("\n" + tables.joined(separator: "\n\n"))
    }
}
