import NIOCore
import SluiceBroker
import SluiceCore
import SluiceRaft
import SluiceWire
import Testing

@Suite("Raft wire codec")
struct RaftWireCodecTests {
    static let snapshot = RaftSnapshot(
        index: 4_000_000_001, term: 7, configuration: RaftConfiguration(voters: [1, 2, 3], learners: [9]),
        data: Array(0...255))

    /// One message of every body, with values that use the whole width of each field.
    static let everyBody: [RaftMessage.Body] = [
        .preVote(lastIndex: 12, lastTerm: 3),
        .preVoteResponse(granted: true),
        .vote(lastIndex: .init(UInt64.max), lastTerm: .init(UInt64.max - 1), leadershipTransfer: true),
        .voteResponse(granted: false),
        .append(prevIndex: 10, prevTerm: 2, entries: [
            RaftEntry(term: 3, index: 11, kind: .leaderChange),
            RaftEntry(term: 3, index: 12, data: [1, 2, 3]),
            RaftEntry(term: 3, index: 13, data: Array(repeating: 0xAB, count: 1000)),
        ], leaderCommit: 9),
        .append(prevIndex: 0, prevTerm: 0, entries: [], leaderCommit: 0),
        .appendAccepted(matchIndex: 42),
        .appendRejected(rejectedIndex: 50, hintIndex: 40, hintTerm: 5),
        .heartbeat(leaderCommit: 77),
        .heartbeatResponse,
        .installSnapshot(snapshot),
        .timeoutNow,
    ]

    @Test("every Raft message body survives encode then decode unchanged",
          arguments: everyBody.indices)
    func everyBodyRoundTrips(_ i: Int) throws {
        let message = RaftMessage(from: 3, to: 1, term: 9, body: Self.everyBody[i])
        let frame = RaftWireCodec.encode(message, correlationID: 5)
        #expect(try RaftWireCodec.decode(frame: frame) == message)
    }

    @Test("each body kind uses its own API key in the private range")
    func bodiesUseDistinctPrivateKeys() throws {
        var keys: Set<Int16> = []
        for body in Self.everyBody {
            var frame = RaftWireCodec.encode(RaftMessage(from: 1, to: 2, term: 1, body: body), correlationID: 0)
            let header = try RequestHeader(from: &frame, version: 1)
            #expect(header.apiKey >= 10_000 && header.apiVersion == 0 && header.clientID == "1")
            keys.insert(header.apiKey)
        }
        #expect(keys.count == 11)  // two append samples share a key
        #expect(keys == Set(RaftWireCodec.apiKeys))
    }

    @Test("every proper prefix of a frame is refused")
    func truncatedFramesThrow() {
        for body in Self.everyBody {
            let frame = RaftWireCodec.encode(RaftMessage(from: 1, to: 2, term: 1, body: body), correlationID: 0)
            for length in 0..<frame.readableBytes {
                #expect(throws: RaftWireError.self) {
                    try RaftWireCodec.decode(frame: frame.getSlice(at: frame.readerIndex, length: length)!)
                }
            }
        }
    }

    @Test("random garbage never decodes into a crash")
    func garbageThrowsOrDecodes() {
        var rng = SplitMix64(seed: 0xBAD)
        var thrown = 0
        for _ in 0..<20_000 {
            let count = Int(rng.next(below: 64))
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if count >= 4, rng.next(below: 2) == 0 {
                // Aim at real keys so the bodies' decoders see garbage too.
                bytes[0] = 0x27
                bytes[1] = UInt8(0x10 + rng.next(below: 11))
            }
            do { _ = try RaftWireCodec.decode(frame: ByteBuffer(bytes: bytes)) } catch { thrown += 1 }
        }
        #expect(thrown > 19_000)
    }

    @Test("a frame with a non-numeric sender, a wrong version, trailing bytes or a bad entry kind is refused")
    func malformedFieldsThrow() throws {
        let vote = RaftMessage(from: 1, to: 2, term: 1, body: .voteResponse(granted: true))
        var body = ByteBuffer()
        RaftVoteResponse(to: 2, term: 1, granted: true).encode(into: &body, version: 0)

        func frame(key: Int16 = RaftVoteResponse.apiKey, version: Int16 = 0, client: String? = "1",
                   body: ByteBuffer) -> ByteBuffer {
            var f = ByteBuffer()
            RequestHeader(apiKey: key, apiVersion: version, correlationID: 0, clientID: client).encode(into: &f, version: 1)
            var b = body
            f.writeBuffer(&b)
            return f
        }
        #expect(try RaftWireCodec.decode(frame: frame(body: body)) == vote)
        #expect(throws: RaftWireError.badSender("node-1")) { try RaftWireCodec.decode(frame: frame(client: "node-1", body: body)) }
        #expect(throws: RaftWireError.badSender(nil)) { try RaftWireCodec.decode(frame: frame(client: nil, body: body)) }
        #expect(throws: RaftWireError.unsupportedVersion(apiKey: RaftVoteResponse.apiKey, version: 1)) {
            try RaftWireCodec.decode(frame: frame(version: 1, body: body))
        }
        #expect(throws: RaftWireError.notARaftKey(0)) { try RaftWireCodec.decode(frame: frame(key: 0, body: body)) }
        var long = body
        long.writeInteger(UInt8(0))
        #expect(throws: RaftWireError.self) { try RaftWireCodec.decode(frame: frame(body: long)) }

        var append = ByteBuffer()
        RaftAppendRequest(to: 2, term: 1, entries: [.init(term: 1, index: 1, kind: 7, data: [])]).encode(into: &append, version: 0)
        #expect(throws: RaftWireError.invalidValue("entry kind 7")) {
            try RaftWireCodec.decode(frame: frame(key: RaftAppendRequest.apiKey, body: append))
        }
        var snapshot = ByteBuffer()
        RaftInstallSnapshotRequest(to: 2, term: 1, voters: [1, 2], learners: [2]).encode(into: &snapshot, version: 0)
        #expect(throws: RaftWireError.self) {
            try RaftWireCodec.decode(frame: frame(key: RaftInstallSnapshotRequest.apiKey, body: snapshot))
        }
    }
}
