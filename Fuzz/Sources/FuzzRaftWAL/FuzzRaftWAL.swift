import CFuzzerDriver
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceRaft
import SluiceRaftStorage

/// Input: the bytes of a Raft WAL (`raft.wal`) as a crash or bit rot may leave it. Opening the
/// store replays the intact prefix of CRC-framed records and cuts the rest off. Invariants:
/// nothing traps; opening the cut file again recovers the same state and cuts nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRaftWAL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let directory = "/tmp/sluice-fuzz-wal-\(getpid())"
    mkdir(directory, 0o755)
    let path = directory + "/raft.wal"
    unlink(directory + "/raft.snapshot")
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    var written = 0
    while written < size {
        let n = write(fd, data + written, size - written)
        precondition(n > 0, "cannot write \(path)")
        written += n
    }
    close(fd)
    guard var first = try? FileRaftLogStore(directory: directory) else { return 0 }
    let recovered = first.recoveredState
    first.close()
    guard var second = try? FileRaftLogStore(directory: directory) else {
        preconditionFailure("a WAL the store cut to its intact prefix does not open again")
    }
    precondition(second.truncatedTailBytes == 0, "the second open cut \(second.truncatedTailBytes) more bytes")
    precondition(second.recoveredState == recovered, "reopening recovered a different state")
    second.close()
    return 0
}

/// The executable's entry (SwiftPM links main to `FuzzRaftWAL_main`): run libFuzzer on `fuzzRaftWAL`.
@_cdecl("FuzzRaftWAL_main")
public func fuzzRaftWALMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzRaftWAL(data, size)
    }
}
