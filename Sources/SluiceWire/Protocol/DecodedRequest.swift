import NIOCore

/// A request frame decoded into its header and typed body.
public struct DecodedRequest: Hashable, Sendable {
    public var header: RequestHeader
    public var request: KafkaRequest

    public init(header: RequestHeader, request: KafkaRequest) {
        self.header = header
        self.request = request
    }
}
