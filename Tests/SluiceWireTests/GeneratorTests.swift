import Foundation
import Testing

/// The generated Swift is committed; this fails when someone edits a definition (or the
/// generator) and forgets to regenerate.
@Suite("Generated code is up to date")
struct GeneratorTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test("wiregen --check finds nothing stale", .enabled(if: python != nil, "python3 is not installed"))
    func generatedFilesMatchDefinitions() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python!)
        process.arguments = [Self.repositoryRoot.appendingPathComponent("scripts/wiregen/wiregen.py").path, "--check"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Read before waiting, so a long report cannot fill the pipe and block the child.
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
    }
}
