import SluiceCore
import SluiceRaft

/// One record of the Raft write-ahead log, framed so that recovery can tell a complete record
/// from a torn or corrupted one:
///
/// ```
/// frame  := bodyLength:u32 crc32(body):u32 body           (little endian, zlib CRC-32)
/// body   := type:u8 payload
/// type 1 entry      := term:u64 index:u64 kind:u8 data:bytes…
/// type 2 hard state := term:u64 vote:i32 (-1 = none) raftCommitIndex:u64
/// type 3 snapshot   := index:u64 term:u64 voterCount:u32 voter:i32… learnerCount:u32
///                      learner:i32… data:bytes…
/// ```
enum WALRecord: Equatable {
    case entry(RaftEntry)
    case hardState(HardState)
    case snapshot(RaftSnapshot)

    /// Largest record body accepted on recovery; a larger length field is corruption.
    static let bodyBytesMax = 256 * 1024 * 1024
    static let headerBytes = 8

    func framed() -> [UInt8] {
        var body: [UInt8] = []
        switch self {
        case .entry(let e):
            body.append(1)
            body.appendLE(e.term.rawValue)
            body.appendLE(e.index.rawValue)
            body.append(e.kind.rawValue)
            body += e.data
        case .hardState(let hs):
            body.append(2)
            body.appendLE(hs.term.rawValue)
            body.appendLE(UInt32(bitPattern: (hs.vote ?? .none).rawValue))
            body.appendLE(hs.raftCommitIndex.rawValue)
        case .snapshot(let s):
            body.append(3)
            body.appendLE(s.index.rawValue)
            body.appendLE(s.term.rawValue)
            for group in [s.configuration.voters, s.configuration.learners] {
                body.appendLE(UInt32(group.count))
                for id in group { body.appendLE(UInt32(bitPattern: id.rawValue)) }
            }
            body += s.data
        }
        precondition(body.count <= Self.bodyBytesMax, "WAL record too large")
        var frame: [UInt8] = []
        frame.reserveCapacity(Self.headerBytes + body.count)
        frame.appendLE(UInt32(body.count))
        frame.appendLE(body.withUnsafeBytes { CRC32Hasher().hash($0) })
        return frame + body
    }

    /// Decode the frame at `offset`: the record and the offset after it, or nil when the bytes
    /// there are not a complete, intact, well-formed frame (a torn or corrupt tail).
    static func decode(_ bytes: [UInt8], at offset: Int) -> (WALRecord, Int)? {
        var r = ByteReader(bytes, at: offset)
        guard let length = r.u32().map(Int.init), length > 0, length <= bodyBytesMax,
              let crc = r.u32(), let body = r.bytes(length),
              body.withUnsafeBytes({ CRC32Hasher().hash($0) }) == crc,
              let record = decodeBody(body)
        else { return nil }
        return (record, r.offset)
    }

    private static func decodeBody(_ body: [UInt8]) -> WALRecord? {
        var r = ByteReader(body, at: 1)
        switch body[0] {
        case 1:
            guard let t = r.u64(), let i = r.u64(), let k = r.u8().flatMap(RaftEntry.Kind.init(rawValue:)) else { return nil }
            return .entry(RaftEntry(term: RaftTerm(t), index: RaftIndex(i), kind: k, data: r.rest()))
        case 2:
            guard let t = r.u64(), let v = r.u32(), let c = r.u64(), r.rest().isEmpty else { return nil }
            let vote = NodeID(Int32(bitPattern: v))
            return .hardState(HardState(term: RaftTerm(t), vote: vote == .none ? nil : vote, raftCommitIndex: RaftIndex(c)))
        case 3:
            guard let i = r.u64(), let t = r.u64() else { return nil }
            var groups: [[NodeID]] = []
            for _ in 0..<2 {
                guard let n = r.u32(), n <= 1024 else { return nil }
                var ids: [NodeID] = []
                for _ in 0..<n {
                    guard let id = r.u32() else { return nil }
                    ids.append(NodeID(Int32(bitPattern: id)))
                }
                groups.append(ids)
            }
            guard !groups[0].isEmpty, Set(groups[0]).isDisjoint(with: groups[1]) else { return nil }
            let config = RaftConfiguration(voters: groups[0], learners: groups[1])
            return .snapshot(RaftSnapshot(index: RaftIndex(i), term: RaftTerm(t), configuration: config, data: r.rest()))
        default:
            return nil
        }
    }
}

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        for k in 0..<(T.bitWidth / 8) { append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }
}

/// Bounds-checked little-endian reads: every read returns nil rather than trap past the end.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], at offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, offset + n <= bytes.count else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func u8() -> UInt8? { bytes(1)?[0] }
    mutating func u32() -> UInt32? { int(UInt32.self) }
    mutating func u64() -> UInt64? { int(UInt64.self) }

    private mutating func int<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard let b = bytes(T.bitWidth / 8) else { return nil }
        return b.enumerated().reduce(T.zero) { $0 | T($1.element) << (8 * $1.offset) }
    }

    mutating func rest() -> [UInt8] { bytes(bytes.count - offset) ?? [] }
}
