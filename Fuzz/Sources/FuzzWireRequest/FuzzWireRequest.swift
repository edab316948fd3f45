import CFuzzerDriver
import NIOCore
import SluiceWire

/// Input: bytes as a client would send them on the client listener. Each size-prefixed frame is
/// cut by `KafkaFrameParser` and decoded by `RequestDecoder` (header, then the body of its API
/// key and version). A frame that decodes must encode to a frame that decodes to the same
/// request; anything else must be a thrown, typed error, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let parser = KafkaFrameParser(frameBytesMax: 1 << 20)
    while true {
        let frame: ByteBuffer
        do throws(FrameError) {
            guard let next = try parser.nextFrame(from: &input) else { return 0 }
            frame = next
        } catch {
            return 0
        }
        guard let decoded = try? RequestDecoder.decode(frame: frame) else { continue }
        var again = ByteBuffer()
        decoded.header.encode(into: &again, version: 1)
        if RequestHeader.version(apiKey: decoded.header.apiKey, apiVersion: decoded.header.apiVersion) == 2 {
            again.writeInteger(UInt8(0))  // no tagged fields
        }
        decoded.request.encode(into: &again, version: decoded.header.apiVersion)
        let redecoded = try? RequestDecoder.decode(frame: again)
        precondition(redecoded == decoded, "request \(decoded.header) does not round-trip")
    }
}

/// The executable's entry (SwiftPM links main to `FuzzWireRequest_main`): run libFuzzer on `fuzzWireRequest`.
@_cdecl("FuzzWireRequest_main")
public func fuzzWireRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzWireRequest(data, size)
    }
}
