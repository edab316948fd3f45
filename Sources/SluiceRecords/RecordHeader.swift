import NIOCore

/// A record header: a UTF-8 key and an optional byte value.
public struct RecordHeader: Sendable, Hashable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value.map { ByteBuffer(bytes: $0) }
    }
}
