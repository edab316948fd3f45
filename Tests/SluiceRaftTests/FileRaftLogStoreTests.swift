import SluiceCore
import SluiceRaft
import SluiceRaftStorage
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("File-backed Raft log store")
struct FileRaftLogStoreTests {
    static func tempDirectory() -> String {
        var template = Array("/tmp/sluice-raft-wal-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: p!)
    }

    /// Remove a store directory (it only ever holds these files).
    static func remove(_ dir: String) {
        for f in ["raft.wal", "raft.snapshot", "raft.wal.tmp", "raft.snapshot.tmp"] { unlink(dir + "/" + f) }
        rmdir(dir)
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [RaftEntry] {
        range.map { RaftEntry(term: RaftTerm(term), index: RaftIndex($0), data: Array("entry \($0)".utf8)) }
    }

    static func ready(entries: [RaftEntry] = [], hardState: HardState? = nil, snapshot: RaftSnapshot? = nil) -> Ready {
        Ready(hardState: hardState, snapshot: snapshot, entries: entries, messages: [], committedEntries: [])
    }

    static func fileBytes(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return out }
            out += buf[0..<n]
        }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    @Test func syncedEntriesAndHardStateSurviveAReopen() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        try store.write(Self.ready(entries: Self.entries(1...5, term: 1), hardState: HardState(term: 1, vote: 2, raftCommitIndex: 3)))
        try store.sync()
        // Overwrite a conflicting suffix, as a follower does for a new leader.
        try store.write(Self.ready(entries: Self.entries(4...6, term: 2), hardState: HardState(term: 2, vote: 3, raftCommitIndex: 3)))
        try store.sync()
        store.close()
        let reopened = try FileRaftLogStore(directory: dir)
        #expect(reopened.recoveredState.entries == Self.entries(1...3, term: 1) + Self.entries(4...6, term: 2))
        #expect(reopened.recoveredState.hardState == HardState(term: 2, vote: 3, raftCommitIndex: 3))
        #expect(reopened.truncatedTailBytes == 0)
    }

    @Test func writesThatWereNeverSyncedAreLostByACrash() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        try store.write(Self.ready(entries: Self.entries(1...2, term: 1)))
        try store.sync()
        try store.write(Self.ready(entries: Self.entries(3...4, term: 1)))
        store.close()  // crash before sync
        #expect(try FileRaftLogStore(directory: dir).recoveredState.entries == Self.entries(1...2, term: 1))
    }

    @Test func recoveryTruncatesATornTailAtEveryCutPointAndKeepsTheIntactPrefix() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        let all = Self.entries(1...4, term: 3)
        var ends: [Int] = []  // WAL size after each record
        for e in all {
            try store.write(Self.ready(entries: [e]))
            try store.sync()
            ends.append(Self.fileBytes(dir + "/raft.wal").count)
        }
        store.close()
        let wal = Self.fileBytes(dir + "/raft.wal")
        for cut in 0...wal.count {
            let crashDir = Self.tempDirectory()
            defer { Self.remove(crashDir) }
            Self.writeFile(crashDir + "/raft.wal", Array(wal[0..<cut]))
            var recovered = try FileRaftLogStore(directory: crashDir)
            let intact = ends.filter { $0 <= cut }.count
            #expect(recovered.recoveredState.entries == Array(all.prefix(intact)), "cut at \(cut)")
            #expect(recovered.truncatedTailBytes == cut - (ends.last { $0 <= cut } ?? 0))
            // The store appends cleanly after the truncated tail.
            try recovered.write(Self.ready(entries: [RaftEntry(term: 4, index: RaftIndex(UInt64(intact + 1)), data: [9])]))
            try recovered.sync()
            recovered.close()
            #expect(try FileRaftLogStore(directory: crashDir).recoveredState.entries.count == intact + 1)
        }
    }

    @Test func aCorruptedByteInTheLastRecordFailsItsChecksumAndIsDropped() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        try store.write(Self.ready(entries: Self.entries(1...3, term: 1)))
        try store.sync()
        store.close()
        var wal = Self.fileBytes(dir + "/raft.wal")
        wal[wal.count - 2] ^= 0xFF
        Self.writeFile(dir + "/raft.wal", wal)
        #expect(try FileRaftLogStore(directory: dir).recoveredState.entries == Self.entries(1...2, term: 1))
    }

    @Test func compactionKeepsTheSnapshotAndLaterEntriesAndSurvivesReopen() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        try store.write(Self.ready(entries: Self.entries(1...10, term: 2), hardState: HardState(term: 2, vote: 1, raftCommitIndex: 8)))
        try store.sync()
        let snap = RaftSnapshot(index: 6, term: 2, configuration: RaftConfiguration(voters: [1, 2, 3], learners: [4]), data: [1, 2, 3])
        try store.compact(to: snap)
        try store.write(Self.ready(entries: Self.entries(11...11, term: 2)))
        try store.sync()
        store.close()
        let s = try FileRaftLogStore(directory: dir).recoveredState
        #expect(s.snapshot == snap)
        #expect(s.entries == Self.entries(7...11, term: 2))
        #expect(s.hardState == HardState(term: 2, vote: 1, raftCommitIndex: 8))
    }

    @Test func aReceivedSnapshotReplacesTheWholeLog() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        try store.write(Self.ready(entries: Self.entries(1...3, term: 1)))
        let snap = RaftSnapshot(index: 20, term: 5, configuration: RaftConfiguration(voters: [1, 2, 3]), data: [7])
        try store.write(Self.ready(entries: Self.entries(21...22, term: 5), snapshot: snap))
        try store.sync()
        store.close()
        let s = try FileRaftLogStore(directory: dir).recoveredState
        #expect(s.snapshot == snap && s.entries == Self.entries(21...22, term: 5))
    }

    @Test func aRaftNodeRestartsFromTheFileStore() throws {
        let dir = Self.tempDirectory()
        defer { Self.remove(dir) }
        var store = try FileRaftLogStore(directory: dir)
        var node = RaftNode(id: 1, configuration: RaftConfiguration(voters: [1]), random: SplitMix64(seed: 3))
        node.campaign()
        for k in 0..<3 {
            _ = try node.propose([UInt8(k)])
            while node.hasReady {
                let r = node.ready()
                try store.write(r)
                try store.sync()
                node.advance(r)
            }
        }
        store.close()
        let restarted = RaftNode(id: 1, configuration: RaftConfiguration(voters: [1]), random: SplitMix64(seed: 4),
                                 restoring: try FileRaftLogStore(directory: dir).recoveredState)
        #expect(restarted.term == node.term && restarted.vote == 1)
        #expect(restarted.lastIndex == 4 && restarted.raftCommitIndex == 4)
    }
}
