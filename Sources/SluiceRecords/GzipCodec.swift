import CZlib
import NIOCore

/// Kafka's gzip codec (RFC 1952) through zlib: windowBits 15 + 16 selects the gzip wrapper.
/// Concatenated gzip members are read as one stream, as Java's `GZIPInputStream` reads them.
public enum GzipCodec {
    static let gzipWindowBits: Int32 = 15 + 16

    public static func decompress(_ input: ByteBuffer, bytesMax: Int,
                                  allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        var stream = z_stream()
        guard sluice_inflateInit2(&stream, gzipWindowBits) == Z_OK else {
            preconditionFailure("inflateInit2 failed: out of memory")
        }
        defer { inflateEnd(&stream) }
        var output = allocator.buffer(capacity: min(bytesMax, max(64 * 1024, input.readableBytes * 4)))
        let outcome: CompressionError? = input.withUnsafeReadableBytes { source -> CompressionError? in
            guard let base = source.baseAddress, source.count > 0 else { return .truncated(codec: .gzip) }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = UInt32(source.count)
            while true {
                let room = bytesMax - output.readableBytes
                if room > 0, output.writableBytes == 0 {
                    output.reserveCapacity(minimumWritableBytes: min(room, max(output.capacity, 64 * 1024)))
                }
                let offered = min(output.writableBytes, room, Int(UInt32.max))
                let inputBefore = stream.avail_in
                var status: Int32 = Z_OK
                var written = 0
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { destination in
                    stream.next_out = destination.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = UInt32(offered)
                    status = inflate(&stream, Z_NO_FLUSH)
                    written = offered - Int(stream.avail_out)
                    return written
                }
                switch status {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return nil }
                    // Another gzip member follows only if its magic does; anything else is junk.
                    if stream.avail_in >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B {
                        inflateReset(&stream)
                        continue
                    }
                    return .trailingBytes(codec: .gzip, count: Int(stream.avail_in))
                case Z_OK, Z_BUF_ERROR:
                    if written == 0, stream.avail_in == inputBefore {
                        if offered == 0 { return .outputTooLarge(codec: .gzip, bytesMax: bytesMax) }
                        if stream.avail_in == 0 { return .truncated(codec: .gzip) }
                        return .malformed(codec: .gzip, detail: "decoder made no progress")
                    }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    return .malformed(codec: .gzip, detail: message)
                }
            }
        }
        if let outcome { throw outcome }
        return output
    }

    public static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator())
        throws(CompressionError) -> ByteBuffer
    {
        var stream = z_stream()
        guard sluice_deflateInit2(&stream, Z_DEFAULT_COMPRESSION, gzipWindowBits) == Z_OK else {
            preconditionFailure("deflateInit2 failed: out of memory")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.readableBytes)))
        var output = allocator.buffer(capacity: bound)
        var status: Int32 = Z_OK
        input.withUnsafeReadableBytes { source in
            stream.next_in = source.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.avail_in = UInt32(source.count)
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
                stream.next_out = destination.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = UInt32(destination.count)
                status = deflate(&stream, Z_FINISH)
                return destination.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else {
            throw .malformed(codec: .gzip, detail: "deflate did not finish (status \(status))")
        }
        return output
    }
}
