import SluiceCore
import SluiceRaft

/// The application the simulated nodes replicate: a running digest of every applied entry.
/// Two nodes at the same index with the same digest applied the same entries in order.
struct ReplicatedStateMachine: Equatable {
    private(set) var index: RaftIndex = .zero
    private(set) var digest: UInt64 = 0xCBF2_9CE4_8422_2325

    init() {}

    /// Restore from a snapshot's data (16 bytes: index, digest, little endian).
    init(snapshotData d: [UInt8]) {
        precondition(d.count == 16, "malformed state machine snapshot")
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[at + $1]) << (8 * UInt64($1)) } }
        index = RaftIndex(u64(0))
        digest = u64(8)
    }

    var snapshotData: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: index.rawValue >> (8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: digest >> (8 * UInt64($0))) }
    }

    mutating func apply(_ e: RaftEntry) {
        precondition(e.index == index.next, "entries applied out of order")
        index = e.index
        digest = Self.mix(digest, e)
    }

    static func mix(_ digest: UInt64, _ e: RaftEntry) -> UInt64 {
        var h = digest
        func eat(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for k in 0..<8 { eat(UInt8(truncatingIfNeeded: e.term.rawValue >> (8 * UInt64(k)))) }
        eat(e.kind.rawValue)
        for b in e.data { eat(b) }
        return h
    }
}
