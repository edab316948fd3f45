import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

/// A small tmpfs mounted for one test, so a real file system can be filled up (ENOSPC).
/// Mounting needs root (CAP_SYS_ADMIN); tests that need one are enabled by `isPermitted`.
final class TmpfsMount {
    struct MountError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "mount -t tmpfs failed: errno \(errno)" }
    }

    let path: String

    init(bytes: Int) throws {
        path = NSTemporaryDirectory() + "sluice-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let status = "size=\(bytes)".withCString { options in mount("tmpfs", path, "tmpfs", 0, options) }
        guard status == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: path)
            throw MountError(errno: code)
        }
    }

    deinit {
        // MNT_DETACH (2): a descriptor a test still holds must not leave the mount behind.
        umount2(path, 2)
        rmdir(path)
    }

    /// Whether this process may mount a tmpfs (tried once).
    static let isPermitted: Bool = (try? TmpfsMount(bytes: 1 << 16)) != nil
}
