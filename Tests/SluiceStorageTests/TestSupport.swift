import Foundation
@testable import SluiceStorage

/// A fresh directory for a test on the given file system; removed when the test drops it.
final class TestDirectory {
    let fileSystem: any FileSystem
    let path: String

    init(_ fileSystem: any FileSystem) throws {
        self.fileSystem = fileSystem
        if fileSystem is RealFileSystem {
            path = NSTemporaryDirectory() + "sluice-storage-\(UUID().uuidString)"
        } else {
            path = "/test-\(UUID().uuidString)"
        }
        try fileSystem.createDirectory(path)
    }

    deinit { try? fileSystem.remove(path) }

    func file(_ name: String) -> String { joinPath(path, name) }
}

enum FileSystemKind: String, CaseIterable, CustomTestStringConvertible {
    case real, simulated
    func make() -> any FileSystem {
        switch self {
        case .real: RealFileSystem()
        case .simulated: SimulatedFileSystem()
        }
    }
    var testDescription: String { rawValue }
}

import Testing
