import NIOCore
import SluiceCore

/// One record, decoded from a batch, with its absolute offset and timestamp.
///
/// Wire layout inside the (decompressed) record section; every length and delta is a zigzag
/// varint (see `ByteBuffer.readVarInt`), so the sizes below are ranges:
/// ```
/// length          varint   bytes after this field
/// attributes      int8     unused, 0
/// timestampDelta  varlong  timestamp - batch baseTimestamp
/// offsetDelta     varint   offset - batch baseOffset
/// keyLength       varint   -1 = null key
/// key             bytes
/// valueLength     varint   -1 = null value (a tombstone)
/// value           bytes
/// headerCount     varint
/// headers         headerCount × { keyLength varint, key UTF-8, valueLength varint (-1 = null), value }
/// ```
/// `key` and `value` are slices of the batch (or of its decompressed section): no copies.
public struct Record: Sendable, Equatable {
    public var offset: Offset
    public var timestamp: RecordTimestamp
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(offset: Offset, timestamp: RecordTimestamp, key: ByteBuffer?, value: ByteBuffer?,
                headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
