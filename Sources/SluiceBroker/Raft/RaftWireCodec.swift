import NIOCore
import SluiceCore
import SluiceRaft
import SluiceWire

/// Why a received frame is not a Raft message. The connection it came on is closed.
public enum RaftWireError: Error, Sendable, Equatable {
    /// The header's client id must be the sender's node id in decimal.
    case badSender(String?)
    case unsupportedVersion(apiKey: Int16, version: Int16)
    case notARaftKey(Int16)
    case malformedBody(WireError)
    /// An entry kind or snapshot configuration the core cannot represent.
    case invalidValue(String)
}

/// Converts `RaftMessage`s to and from the frames of `Definitions/raft.wire`:
/// `RequestHeader v1 (api key, version 0, correlation id, client id = sender id) | body`.
/// One-way: an answer is another message, so no response frame ever follows.
public enum RaftWireCodec {
    /// The API keys this codec owns; register them with the inter-node server.
    public static let apiKeys: ClosedRange<Int16> = RaftPreVoteRequest.apiKey...RaftTimeoutNowRequest.apiKey
    static let version: Int16 = 0

    /// The frame payload (without the size prefix, which `KafkaFrameEncoder` adds).
    public static func encode(_ m: RaftMessage, correlationID: Int32,
                              allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let body = wireBody(m)
        var buffer = allocator.buffer(capacity: 64)
        RequestHeader(apiKey: body.apiKey, apiVersion: version, correlationID: correlationID,
                      clientID: String(m.from.rawValue)).encode(into: &buffer, version: 1)
        body.encode(into: &buffer, version: version)
        return buffer
    }

    /// Decodes a whole frame payload.
    public static func decode(frame: ByteBuffer) throws(RaftWireError) -> RaftMessage {
        var buffer = frame
        let header: RequestHeader
        do { header = try RequestHeader(from: &buffer, version: 1) } catch { throw .malformedBody(error) }
        return try decode(header: header, body: buffer)
    }

    /// Decodes a body whose header the inter-node server already parsed.
    public static func decode(header: RequestHeader, body: ByteBuffer) throws(RaftWireError) -> RaftMessage {
        guard apiKeys.contains(header.apiKey) else { throw .notARaftKey(header.apiKey) }
        guard header.apiVersion == version else {
            throw .unsupportedVersion(apiKey: header.apiKey, version: header.apiVersion)
        }
        guard let text = header.clientID, let raw = Int32(text), raw >= 0 else { throw .badSender(header.clientID) }
        var buffer = body
        let decoded: RaftRequest?
        do throws(WireError) {
            decoded = try RaftRequest.decode(apiKey: header.apiKey, version: version, from: &buffer)
            if buffer.readableBytes > 0 {
                throw WireError(.trailingBytes(buffer.readableBytes), message: "RaftRequest", field: "",
                                version: version)
            }
        } catch { throw .malformedBody(error) }
        guard let decoded else { throw .notARaftKey(header.apiKey) }
        return try message(from: NodeID(raw), decoded)
    }

    static func wireBody(_ m: RaftMessage) -> RaftRequest {
        let (to, term) = (m.to, m.term)
        switch m.body {
        case .preVote(let lastIndex, let lastTerm):
            return .raftPreVote(.init(to: to, term: term, lastIndex: lastIndex, lastTerm: lastTerm))
        case .preVoteResponse(let granted):
            return .raftPreVoteResponse(.init(to: to, term: term, granted: granted))
        case .vote(let lastIndex, let lastTerm, let transfer):
            return .raftVote(.init(to: to, term: term, lastIndex: lastIndex, lastTerm: lastTerm,
                                   leadershipTransfer: transfer))
        case .voteResponse(let granted):
            return .raftVoteResponse(.init(to: to, term: term, granted: granted))
        case .append(let prevIndex, let prevTerm, let entries, let leaderCommit):
            let wire = entries.map {
                RaftAppendRequest.RaftWireEntry(term: $0.term, index: $0.index, kind: Int8($0.kind.rawValue), data: $0.data)
            }
            return .raftAppend(.init(to: to, term: term, prevIndex: prevIndex, prevTerm: prevTerm,
                                     leaderCommit: leaderCommit, entries: wire))
        case .appendAccepted(let matchIndex):
            return .raftAppendAccepted(.init(to: to, term: term, matchIndex: matchIndex))
        case .appendRejected(let rejected, let hintIndex, let hintTerm):
            return .raftAppendRejected(.init(to: to, term: term, rejectedIndex: rejected, hintIndex: hintIndex,
                                             hintTerm: hintTerm))
        case .heartbeat(let leaderCommit):
            return .raftHeartbeat(.init(to: to, term: term, leaderCommit: leaderCommit))
        case .heartbeatResponse:
            return .raftHeartbeatResponse(.init(to: to, term: term))
        case .installSnapshot(let s):
            return .raftInstallSnapshot(.init(to: to, term: term, snapshotIndex: s.index, snapshotTerm: s.term,
                                              voters: s.configuration.voters, learners: s.configuration.learners,
                                              data: s.data))
        case .timeoutNow:
            return .raftTimeoutNow(.init(to: to, term: term))
        }
    }

    static func message(from: NodeID, _ request: RaftRequest) throws(RaftWireError) -> RaftMessage {
        func make(_ to: NodeID, _ term: RaftTerm, _ body: RaftMessage.Body) -> RaftMessage {
            RaftMessage(from: from, to: to, term: term, body: body)
        }
        switch request {
        case .raftPreVote(let r): return make(r.to, r.term, .preVote(lastIndex: r.lastIndex, lastTerm: r.lastTerm))
        case .raftPreVoteResponse(let r): return make(r.to, r.term, .preVoteResponse(granted: r.granted))
        case .raftVote(let r):
            return make(r.to, r.term, .vote(lastIndex: r.lastIndex, lastTerm: r.lastTerm,
                                             leadershipTransfer: r.leadershipTransfer))
        case .raftVoteResponse(let r): return make(r.to, r.term, .voteResponse(granted: r.granted))
        case .raftAppend(let r):
            var entries: [RaftEntry] = []
            entries.reserveCapacity(r.entries.count)
            for e in r.entries {
                guard let kind = UInt8(exactly: e.kind).flatMap(RaftEntry.Kind.init(rawValue:)) else {
                    throw .invalidValue("entry kind \(e.kind)")
                }
                entries.append(RaftEntry(term: e.term, index: e.index, kind: kind, data: e.data))
            }
            return make(r.to, r.term, .append(prevIndex: r.prevIndex, prevTerm: r.prevTerm, entries: entries,
                                               leaderCommit: r.leaderCommit))
        case .raftAppendAccepted(let r): return make(r.to, r.term, .appendAccepted(matchIndex: r.matchIndex))
        case .raftAppendRejected(let r):
            return make(r.to, r.term, .appendRejected(rejectedIndex: r.rejectedIndex, hintIndex: r.hintIndex,
                                                      hintTerm: r.hintTerm))
        case .raftHeartbeat(let r): return make(r.to, r.term, .heartbeat(leaderCommit: r.leaderCommit))
        case .raftHeartbeatResponse(let r): return make(r.to, r.term, .heartbeatResponse)
        case .raftInstallSnapshot(let r):
            // RaftConfiguration's initializer traps on an invalid set: check it here, since
            // these bytes came from the network.
            let voters = Set(r.voters), learners = Set(r.learners)
            guard !voters.isEmpty, voters.count == r.voters.count, learners.count == r.learners.count,
                  voters.isDisjoint(with: learners) else {
                throw .invalidValue("snapshot configuration voters \(r.voters) learners \(r.learners)")
            }
            let configuration = RaftConfiguration(voters: r.voters, learners: r.learners)
            return make(r.to, r.term, .installSnapshot(RaftSnapshot(
                index: r.snapshotIndex, term: r.snapshotTerm, configuration: configuration, data: r.data)))
        case .raftTimeoutNow(let r): return make(r.to, r.term, .timeoutNow)
        }
    }
}
