import SluiceCore
@testable import SluiceStorage
import Testing

@Suite struct OffsetIndexTests {
    @Test(arguments: FileSystemKind.allCases)
    func lookupFindsTheLastEntryAtOrBeforeTheOffset(kind: FileSystemKind) throws {
        let dir = try TestDirectory(kind.make())
        let path = dir.file("00000000000000000100.index")
        var index = try OffsetIndex(emptying: dir.fileSystem.open(path, create: true), baseOffset: 100)
        try index.append(offset: 100, position: 0)
        try index.append(offset: 110, position: 4096)
        try index.append(offset: 150, position: 9000)
        #expect(index.position(atOrBefore: 99) == 0)
        #expect(index.position(atOrBefore: 100) == 0)
        #expect(index.position(atOrBefore: 109) == 0)
        #expect(index.position(atOrBefore: 110) == 4096)
        #expect(index.position(atOrBefore: 149) == 4096)
        #expect(index.position(atOrBefore: 1_000_000) == 9000)

        // Reopening reads back the same entries.
        let reopened = try OffsetIndex(file: dir.fileSystem.open(path, create: false), baseOffset: 100, logSize: 10_000)
        #expect(reopened.entries == index.entries)

        try index.truncate(from: 150)
        #expect(index.entries.count == 2)
        #expect(try dir.fileSystem.open(path, create: false).size() == 16)
    }

    @Test func openRejectsDamagedFiles() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/d")
        let torn = try fs.open("/d/torn.index", create: true)
        try torn.write([0, 0, 0, 1, 0, 0], at: 0)
        #expect(throws: StorageError.self) { try OffsetIndex(file: torn, baseOffset: 0, logSize: 100) }

        let unordered = try fs.open("/d/unordered.index", create: true)
        try unordered.write([0, 0, 0, 5, 0, 0, 0, 50, 0, 0, 0, 4, 0, 0, 0, 60], at: 0)
        #expect(throws: StorageError.self) { try OffsetIndex(file: unordered, baseOffset: 0, logSize: 100) }

        let pastEnd = try fs.open("/d/past.index", create: true)
        try pastEnd.write([0, 0, 0, 5, 0, 0, 1, 0], at: 0)
        #expect(throws: StorageError.self) { try OffsetIndex(file: pastEnd, baseOffset: 0, logSize: 100) }
    }
}

@Suite struct TimeIndexTests {
    @Test func scanStartIsTheLastEntryStrictlyBelowTheTimestamp() throws {
        let fs = SimulatedFileSystem()
        var index = try TimeIndex(emptying: fs.open("/t", create: true), baseOffset: 1000)
        try index.append(timestamp: 10, offset: 1000)
        try index.append(timestamp: 20, offset: 1005)
        try index.append(timestamp: 30, offset: 1009)
        #expect(index.scanStart(forTimestamp: 5) == 1000)
        #expect(index.scanStart(forTimestamp: 10) == 1000)
        #expect(index.scanStart(forTimestamp: 11) == 1000)
        #expect(index.scanStart(forTimestamp: 20) == 1000)
        #expect(index.scanStart(forTimestamp: 21) == 1005)
        #expect(index.scanStart(forTimestamp: 99) == 1009)
        let reopened = try TimeIndex(file: fs.open("/t", create: false), baseOffset: 1000)
        #expect(reopened.entries == index.entries)
        try index.truncate(from: 1005)
        #expect(index.entries.map(\.timestamp) == [10])
    }
}

@Suite struct LeaderEpochCacheTests {
    // Epochs 0@0, 2@10, 5@25; the log ends at 40.
    var cache = LeaderEpochCache(entries: [.init(epoch: 0, startOffset: 0), .init(epoch: 2, startOffset: 10),
                                           .init(epoch: 5, startOffset: 25)])

    @Test func endOffsetFollowsOffsetForLeaderEpochSemantics() {
        #expect(cache.endOffset(for: 5, logEndOffset: 40)! == (5, 40), "latest epoch ends at the log end")
        #expect(cache.endOffset(for: 2, logEndOffset: 40)! == (2, 25))
        #expect(cache.endOffset(for: 3, logEndOffset: 40)! == (2, 25), "an unknown epoch maps to the largest below it")
        #expect(cache.endOffset(for: 0, logEndOffset: 40)! == (0, 10))
        #expect(cache.endOffset(for: 6, logEndOffset: 40) == nil, "an epoch above every known one is undefined")
        #expect(LeaderEpochCache().endOffset(for: 0, logEndOffset: 0) == nil)
    }

    @Test func assignIgnoresStaleEpochsAndReplacesEmptyOnes() {
        var c = cache
        c.assign(epoch: 4, startOffset: 30)
        #expect(c.latestEpoch == 5, "an older epoch cannot be appended")
        c.assign(epoch: 6, startOffset: 40)
        c.assign(epoch: 7, startOffset: 40)
        #expect(c.entries.suffix(2).map(\.epoch) == [5, 7], "epoch 6 wrote nothing and is replaced")
    }

    @Test func truncationAndStartAdvanceDropTheRightEpochs() {
        var c = cache
        c.truncate(from: 25)
        #expect(c.entries.map(\.epoch) == [0, 2])
        c = cache
        c.advanceStart(to: 12)
        #expect(c.entries == [.init(epoch: 2, startOffset: 12), .init(epoch: 5, startOffset: 25)])
    }

    @Test func checkpointRoundTripsAndRejectsGarbage() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/p")
        let file = CheckpointFile(fileSystem: fs, path: "/p/leader-epoch-checkpoint", version: LeaderEpochCache.checkpointVersion)
        #expect(try file.read(fieldsPerEntry: 2) == nil)
        try file.write(cache.checkpointEntries())
        let back = try LeaderEpochCache(checkpoint: file.read(fieldsPerEntry: 2)!, path: file.path)
        #expect(back.entries == cache.entries)
        let raw = try fs.open(file.path, create: false)
        try raw.write(Array("9\n".utf8), at: 0)
        #expect(throws: StorageError.self) { try file.read(fieldsPerEntry: 2) }
    }
}

func == (lhs: (LeaderEpoch, Offset), rhs: (LeaderEpoch, Offset)) -> Bool {
    lhs.0 == rhs.0 && lhs.1 == rhs.1
}
