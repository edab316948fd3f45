import COpenSSL
import NIOCore

/// The two byte queues between OpenSSL and the channel, reached by OpenSSL through a custom
/// BIO (``ByteBufferBIO``). Ciphertext read from the socket is handed over as the channel's own
/// `ByteBuffer` (no copy), and OpenSSL writes records straight into the `ByteBuffer` that goes
/// to the socket. A memory BIO would add a copy and a memset in each direction.
final class BIOBuffers {
    /// Ciphertext from the peer that OpenSSL has not consumed yet.
    var inbound = ByteBuffer()
    /// Ciphertext OpenSSL produced for the peer.
    var outbound = ByteBuffer()
}

/// A source/sink `BIO_METHOD` whose read and write callbacks move bytes between OpenSSL and a
/// ``BIOBuffers``. The method table is made once and only read afterwards.
enum ByteBufferBIO {
    /// `@unchecked Sendable` wrapper: the `BIO_METHOD` is immutable after creation and OpenSSL
    /// only reads it.
    private struct Method: @unchecked Sendable { let pointer: OpaquePointer }

    private static let method: Method = {
        let type = BIO_get_new_index() | sluice_BIO_TYPE_SOURCE_SINK()
        guard let method = BIO_meth_new(type, "sluice ByteBuffer") else {
            preconditionFailure("BIO_meth_new failed")
        }
        precondition(BIO_meth_set_write(method, write) == 1)
        precondition(BIO_meth_set_read(method, read) == 1)
        precondition(BIO_meth_set_ctrl(method, control) == 1)
        precondition(BIO_meth_set_create(method, create) == 1)
        return Method(pointer: method)
    }()

    /// A BIO reading from and writing to `buffers`. `buffers` must outlive the BIO: the BIO
    /// holds it unretained (its owner, ``OpenSSLConnection``, frees the SSL, and with it the
    /// BIO, before releasing `buffers`).
    static func make(_ buffers: BIOBuffers) -> OpaquePointer {
        guard let bio = BIO_new(method.pointer) else { preconditionFailure("BIO_new failed") }
        BIO_set_data(bio, Unmanaged.passUnretained(buffers).toOpaque())
        return bio
    }

    private static func buffers(_ bio: OpaquePointer?) -> BIOBuffers {
        Unmanaged<BIOBuffers>.fromOpaque(BIO_get_data(bio)!).takeUnretainedValue()
    }

    private static let create: @convention(c) (OpaquePointer?) -> Int32 = { bio in
        BIO_set_init(bio, 1)
        return 1
    }

    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        bio, data, length in
        sluice_BIO_clear_retry_flags(bio)
        guard let data, length > 0 else { return 0 }
        buffers(bio).outbound.writeBytes(UnsafeRawBufferPointer(start: data, count: Int(length)))
        return length
    }

    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = {
        bio, destination, length in
        sluice_BIO_clear_retry_flags(bio)
        let buffers = buffers(bio)
        guard buffers.inbound.readableBytes > 0 else {
            sluice_BIO_set_retry_read(bio) // "no data yet", not end of stream
            return -1
        }
        guard let destination, length > 0 else { return 0 }
        let count = min(Int(length), buffers.inbound.readableBytes)
        buffers.inbound.withUnsafeReadableBytes { bytes in
            UnsafeMutableRawPointer(destination).copyMemory(from: bytes.baseAddress!, byteCount: count)
        }
        buffers.inbound.moveReaderIndex(forwardBy: count)
        return Int32(count)
    }

    private static let control: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = {
        bio, command, _, _ in
        switch command {
        case BIO_CTRL_FLUSH: return 1 // the handler flushes the channel itself
        case BIO_CTRL_PENDING: return buffers(bio).inbound.readableBytes
        case BIO_CTRL_WPENDING: return buffers(bio).outbound.readableBytes
        default: return 0
        }
    }
}
