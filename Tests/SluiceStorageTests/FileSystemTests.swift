import SluiceCore
@testable import SluiceStorage
import Testing

/// The same behaviour is required of the real and the simulated file system, so every test in
/// this suite runs against both.
@Suite struct FileSystemContractTests {
    @Test(arguments: FileSystemKind.allCases)
    func positionalWritesAndReadsRoundTrip(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let file = try dir.fileSystem.open(dir.file("a.log"), create: true)
        try file.write([1, 2, 3, 4], at: 0)
        try file.write([9, 9], at: 6)  // leaves a hole of zeros
        #expect(try file.size() == 8)
        #expect(try file.readAll() == [1, 2, 3, 4, 0, 0, 9, 9])
        #expect(try file.read(count: 3, at: 6) == [9, 9], "a read past the end is short")
        try file.truncate(to: 2)
        #expect(try file.readAll() == [1, 2])
        try file.sync()
        file.close()
        #expect(throws: StorageError.closed(path: dir.file("a.log"))) { try file.size() }
    }

    @Test(arguments: FileSystemKind.allCases)
    func directoriesListCreateRenameAndRemove(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let fs = dir.fileSystem
        try fs.createDirectory(dir.file("x/y"))
        _ = try fs.open(dir.file("b"), create: true)
        _ = try fs.open(dir.file("a"), create: true)
        #expect(try fs.listDirectory(dir.path) == ["a", "b", "x"])
        try fs.rename(dir.file("a"), to: dir.file("c"))
        #expect(try fs.listDirectory(dir.path) == ["b", "c", "x"])
        try fs.remove(dir.file("x"))
        #expect(!fs.fileExists(dir.file("x/y")))
        #expect(throws: StorageError.notFound(path: dir.file("missing"))) {
            try fs.open(dir.file("missing"), create: false)
        }
        try fs.syncDirectory(dir.path)
    }

    @Test(arguments: FileSystemKind.allCases)
    func aDirectoryRenamesWithEverythingInIt(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let fs = dir.fileSystem
        try fs.createDirectory(dir.file("p/sub"))
        let file = try fs.open(dir.file("p/sub/f"), create: true)
        try file.write([7, 8], at: 0)
        file.close()
        try fs.rename(dir.file("p"), to: dir.file("q"))
        #expect(!fs.fileExists(dir.file("p")))
        #expect(try fs.listDirectory(dir.path) == ["q"])
        #expect(try fs.listDirectory(dir.file("q")) == ["sub"])
        #expect(try fs.open(dir.file("q/sub/f"), create: false).readAll() == [7, 8])
    }
}

@Suite struct SimulatedCrashTests {
    @Test func syncedBytesSurviveEveryCrash() throws {
        for seed in 0..<200 as Range<UInt64> {
            var random = SplitMix64(seed: seed)
            let fs = SimulatedFileSystem()
            let file = try fs.open("/f", create: true)
            try file.write([1, 2, 3], at: 0)
            try file.sync()
            try file.write([4, 5, 6], at: 3)
            try file.truncate(to: 5)
            try file.write([7, 7, 7, 7], at: 5)
            fs.crash(using: &random)
            let after = try fs.open("/f", create: false).readAll()
            #expect(Array(after.prefix(3)) == [1, 2, 3], "seed \(seed): synced prefix lost: \(after)")
            // What survives beyond is a prefix of the unsynced history, maybe torn.
            let possible: [[UInt8]] = [
                [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5],
                [1, 2, 3, 4, 5, 7], [1, 2, 3, 4, 5, 7, 7], [1, 2, 3, 4, 5, 7, 7, 7], [1, 2, 3, 4, 5, 7, 7, 7, 7],
            ]
            #expect(possible.contains(after), "seed \(seed): impossible image \(after)")
        }
    }

    @Test func crashCanDropAndTearUnsyncedWrites() throws {
        var sawDropped = false
        var sawTorn = false
        var sawKept = false
        for seed in 0..<100 as Range<UInt64> {
            var random = SplitMix64(seed: seed)
            let fs = SimulatedFileSystem()
            let file = try fs.open("/f", create: true)
            try file.write([UInt8](repeating: 1, count: 10), at: 0)
            fs.crash(using: &random)
            let count = try fs.open("/f", create: false).size()
            if count == 0 { sawDropped = true } else if count == 10 { sawKept = true } else { sawTorn = true }
        }
        #expect(sawDropped && sawTorn && sawKept)
    }

    @Test func handlesOpenedBeforeACrashAreDead() throws {
        var random = SplitMix64(seed: 1)
        let fs = SimulatedFileSystem()
        let file = try fs.open("/f", create: true)
        fs.crash(using: &random)
        #expect(throws: StorageError.closed(path: "/f")) { try file.write([1], at: 0) }
    }

    @Test func flipByteCorruptsSyncedData() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.open("/f", create: true)
        try file.write([0, 0, 0], at: 0)
        try file.sync()
        fs.flipByte("/f", at: 1)
        #expect(try file.readAll() == [0, 0x40, 0])
    }
}
