import NIOCore
import Testing

@testable import SluiceWire

/// Hostile input must end in a thrown error or a valid message, never a trap, a hang or a huge
/// allocation. About 290 000 decodes in all, every one reproducible from its seed.
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
                var buffer = ByteBuffer(bytes: bytes)
                _ = try? M(from: &buffer, version: version)
            }
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
                var buffer = ByteBuffer(bytes: bytes)
                if let decoded = try? M(from: &buffer, version: version) {
                    // Whatever decodes must encode again without trapping.
                    _ = decoded.encoded(version: version)
                }
            }
        }
    }

    @Test("random request frames with valid headers throw a typed error or decode")
    func randomRequestFrames() {
        var rng = SeededGenerator(seed: 0xF022_0003)
        let keys = KafkaAPIKey.allCases.map(\.rawValue) + [999, -1]
        for _ in 0..<30_000 {
            var frame = ByteBuffer()
            frame.writeInteger(keys[Int(rng.next() % UInt64(keys.count))])
            frame.writeInteger(Int16(rng.next() % 14) - 1)
            frame.writeInteger(Int32(truncatingIfNeeded: rng.next()))
            frame.writeBytes((0..<Int(rng.next() % 40)).map { _ in UInt8(rng.next() % 3) })
            do {
                _ = try RequestDecoder.decode(frame: frame)
            } catch {
                #expect("\(error)".isEmpty == false)
            }
        }
    }
}
