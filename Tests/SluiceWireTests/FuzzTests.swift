import NIOCore
import Testing

@testable import SluiceWire

/// Hostile input must end in a thrown error or a valid message, never a trap, a hang or a huge
/// allocation. About 290 000 decodes in all, every one reproducible from its seed. Each outcome
/// is checked: an error names the message and version being decoded and describes bytes the
/// input really lacked; a message that decodes encodes to bytes that decode to it again.
@Suite("Decoders survive random and mutated bytes")
struct FuzzTests {
    static let randomInputsPerVersion = 700
    static let mutationsPerVersion = 500

    @Test("random byte strings throw or decode, per message and version", arguments: MessageCase.all)
    func randomBytes(_ message: MessageCase) {
        randomBytes(message.type)
    }

    private func randomBytes<M: ArbitraryWireMessage>(_ type: M.Type) {
        var rng = SeededGenerator(seed: 0xF022_0001, salt: "\(M.self)")
        for version in M.versions {
            for _ in 0..<Self.randomInputsPerVersion {
                // Small values make plausible lengths and counts, so decoding gets deep.
                let length = Int(rng.next() % 48)
                let bytes = (0..<length).map { _ in
                    rng.chance(2) ? UInt8(rng.next() % 4) : UInt8(truncatingIfNeeded: rng.next())
                }
                check(M.self, bytes, version: version)
            }
        }
    }

    /// Decodes `bytes` as `M` at `version` and checks whichever outcome it has.
    private func check<M: ArbitraryWireMessage>(_ type: M.Type, _ bytes: [UInt8], version: Int16) {
        var buffer = ByteBuffer(bytes: bytes)
        do throws(WireError) {
            let decoded = try M(from: &buffer, version: version)
            #expect(buffer.readerIndex <= bytes.count)
            let encoded = decoded.encoded(version: version)
            var again = encoded
            let redecoded = try M(from: &again, version: version)
            #expect(redecoded == decoded, "\(M.self) v\(version): \(bytes) does not round-trip")
            #expect(again.readableBytes == 0, "\(M.self) v\(version): its own encoding leaves bytes over")
        } catch {
            expectMeaningful(error, decoding: M.self, version: version, inputBytes: bytes.count)
        }
    }

    static func isFlexible<M>(_ type: M.Type, _ version: Int16) -> Bool {
        if let request = type as? any APIRequest.Type { return KafkaAPIKey(rawValue: request.apiKey)?.isFlexible(version) ?? false }
        if let response = type as? any APIResponse.Type { return KafkaAPIKey(rawValue: response.apiKey)?.isFlexible(version) ?? false }
        return false
    }

    /// A decoding error names the message and version, and its figures fit the input.
    private func expectMeaningful<M>(_ error: WireError, decoding: M.Type, version: Int16, inputBytes: Int) {
        #expect(error.message == "\(M.self)", "\(error)")
        #expect(error.version == version, "\(error)")
        switch error.reason {
        case .truncated(let needed, let available):
            #expect(needed > available && available >= 0 && available <= inputBytes, "\(error)")
        case .countExceedsRemaining(let count, let elementBytesMin, let available):
            #expect(elementBytesMin > 0 && count > available / elementBytesMin && available <= inputBytes, "\(error)")
        case .invalidLength(let length):
            // A length field is negative; in a flexible version an unsigned varint that overflows
            // or a tag count past the bound is named by the (positive) value read.
            #expect(length < 0 || Self.isFlexible(M.self, version), "\(error)")
        case .trailingBytes(let n):
            #expect(n > 0 && n <= inputBytes, "\(error)")
        case .unsupportedVersion:
            Issue.record("\(M.self) claims no layout for v\(version), one of its own versions")
        }
    }

    @Test("valid encodings with bytes flipped, cut or extended throw or decode", arguments: MessageCase.all)
    func mutatedEncodings(_ message: MessageCase) throws {
        try mutated(message.type)
    }

    private func mutated<M: ArbitraryWireMessage>(_ type: M.Type) throws {
        var rng = SeededGenerator(seed: 0xF022_0002, salt: "\(M.self)")
        for version in M.versions {
            for _ in 0..<Self.mutationsPerVersion {
                var bytes = Array(M.arbitrary(version: version, using: &rng).encoded(version: version).readableBytesView)
                switch rng.next() % 3 {
                case 0 where !bytes.isEmpty:
                    for _ in 0...Int(rng.next() % 3) {
                        bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                    }
                case 1 where !bytes.isEmpty:
                    bytes.removeLast(1 + Int(rng.next() % UInt64(bytes.count)))
                default:
                    bytes += [0x7F, 0xFF, 0xFF, 0xFF]
                }
                check(M.self, bytes, version: version)
            }
        }
    }

    @Test("random request frames with valid headers end in the error their header predicts or decode")
    func randomRequestFrames() {
        var rng = SeededGenerator(seed: 0xF022_0003)
        let keys = KafkaAPIKey.allCases.map(\.rawValue) + [999, -1]
        var outcomes: [String: Int] = [:]
        for _ in 0..<30_000 {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            let version = Int16(rng.next() % 14) - 1
            let correlationID = Int32(truncatingIfNeeded: rng.next())
            let rest = (0..<Int(rng.next() % 40)).map { _ in UInt8(rng.next() % 3) }
            var frame = ByteBuffer()
            frame.writeInteger(key)
            frame.writeInteger(version)
            frame.writeInteger(correlationID)
            frame.writeBytes(rest)
            // The client id (INT16 length, never negative here as the bytes are 0-2) decides
            // whether the header can be read at all.
            let clientIDFits = rest.count >= 2 && Int(rest[0]) << 8 | Int(rest[1]) <= rest.count - 2
            func expectHeader(_ header: RequestHeader) {
                #expect(header.apiKey == key && header.apiVersion == version && header.correlationID == correlationID)
            }
            do throws(RequestDecodingError) {
                let decoded = try RequestDecoder.decode(frame: frame)
                outcomes["decoded", default: 0] += 1
                expectHeader(decoded.header)
                #expect(decoded.request.apiKey == key)
                // What decodes encodes to a frame that decodes to the same request.
                var again = ByteBuffer()
                decoded.header.encode(into: &again, version: 1)
                if RequestHeader.version(apiKey: key, apiVersion: version) == 2 { again.writeInteger(UInt8(0)) }
                decoded.request.encode(into: &again, version: version)
                #expect((try? RequestDecoder.decode(frame: again)) == decoded, "key \(key) v\(version): \(rest)")
            } catch {
                switch error {
                case .malformedHeader:
                    outcomes["malformedHeader", default: 0] += 1
                    #expect(!clientIDFits, "key \(key) v\(version): a readable header refused: \(rest)")
                case .unknownAPIKey(let header):
                    outcomes["unknownAPIKey", default: 0] += 1
                    expectHeader(header)
                    #expect(clientIDFits && KafkaRequest.versions(apiKey: key) == nil)
                case .unsupportedVersion(let header, let supported):
                    outcomes["unsupportedVersion", default: 0] += 1
                    expectHeader(header)
                    #expect(clientIDFits && supported == KafkaRequest.versions(apiKey: key) && !supported.contains(version))
                case .malformedBody(let header, let wireError):
                    outcomes["malformedBody", default: 0] += 1
                    expectHeader(header)
                    #expect(clientIDFits && KafkaRequest.versions(apiKey: key)?.contains(version) == true)
                    // The body's version, or (flexible requests) the header v2's own tag buffer.
                    #expect(wireError.version == version
                            || RequestHeader.version(apiKey: key, apiVersion: version) == 2 && wireError.version == 2, "\(wireError)")
                }
            }
        }
        // Every outcome is reached, so none of the checks above is vacuous (random bodies rarely
        // decode: a few requests with no fields or empty arrays do).
        for outcome in ["decoded", "malformedHeader", "unknownAPIKey", "unsupportedVersion", "malformedBody"] {
            #expect(outcomes[outcome, default: 0] > 0, "\(outcome): \(outcomes)")
        }
    }
}
