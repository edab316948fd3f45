import NIOCore
import NIOPosix
import SluiceCore
import SluiceTLS
import SluiceWire

/// One long-lived connection to one node: requests are pipelined (up to
/// ``ClientConfiguration/inFlightRequestsMax`` written ahead of their answers, matched by
/// correlation id in ``PipelinedRequestHandler``), the API versions are learnt by an
/// ApiVersions handshake on connect, and TLS is used when configured. When the connection
/// closes or a request times out, every pending call fails with a
/// ``SluiceClientError/connectionClosed(address:reason:)`` or
/// ``SluiceClientError/requestTimedOut(address:api:timeout:)``; the owner then opens a new one.
///
/// Immutable after ``connect(to:configuration:tls:group:)``, hence a `Sendable` class rather
/// than an actor: sends go straight to the channel without an actor hop.
final class BrokerConnection: Sendable {
    /// Where the connection goes (as dialled).
    let address: BrokerAddress
    /// The node's version range per API key, from the handshake.
    let apiVersions: [Int16: ClosedRange<Int16>]
    private let channel: any Channel
    private let clientID: String

    private init(address: BrokerAddress, channel: any Channel, clientID: String,
                 apiVersions: [Int16: ClosedRange<Int16>]) {
        self.address = address
        self.channel = channel
        self.clientID = clientID
        self.apiVersions = apiVersions
    }

    /// Connects, sets up TLS if `tls` is given (verifying the node's certificate against the
    /// dialled host unless the TLS settings name a server), and performs the ApiVersions
    /// handshake (v2, falling back to v0 if the node refuses it).
    static func connect(to address: BrokerAddress, configuration: ClientConfiguration, tls: TLSContext?,
                        group: any EventLoopGroup) async throws(SluiceClientError) -> BrokerConnection {
        let channel: any Channel
        do {
            channel = try await bootstrap(address, configuration: configuration, tls: tls, group: group)
                .connect(host: address.host, port: address.port).get()
        } catch {
            throw .connectionFailed(address: address.description, reason: "\(error)")
        }
        do {
            let versions = try await handshake(channel, address: address, clientID: configuration.clientID)
            return BrokerConnection(address: address, channel: channel, clientID: configuration.clientID,
                                    apiVersions: versions)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private static func bootstrap(_ address: BrokerAddress, configuration: ClientConfiguration, tls: TLSContext?,
                                  group: any EventLoopGroup) -> ClientBootstrap {
        let timeout = configuration.connectTimeout.components
        return ClientBootstrap(group: group)
            .connectTimeout(.seconds(timeout.seconds) + .nanoseconds(timeout.attoseconds / 1_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        // The configured name, else the dialled host (a DNS name or an IP, each
                        // checked against the matching kind of SAN).
                        let name = configuration.tls?.serverName ?? address.host
                        try pipeline.addHandler(TLSClientHandler(context: tls, serverName: name))
                    }
                    try pipeline.addHandler(ByteToMessageHandler(
                        KafkaFrameDecoder(frameBytesMax: configuration.frameBytesMax)))
                    try pipeline.addHandler(PipelinedRequestHandler(
                        address: address.description, inFlightMax: configuration.inFlightRequestsMax,
                        queuedMax: configuration.queuedRequestsMax, requestTimeout: configuration.requestTimeout))
                }
            }
    }

    private static func handshake(_ channel: any Channel, address: BrokerAddress,
                                  clientID: String) async throws(SluiceClientError) -> [Int16: ClosedRange<Int16>] {
        for version: Int16 in [2, 0] {
            let frame = encode(ApiVersionsRequest(), version: version, clientID: clientID, allocator: channel.allocator)
            var body = try await exchange(frame, api: "ApiVersions", expectsResponse: true, on: channel, address: address)
            let response: ApiVersionsResponse
            do {
                response = try ApiVersionsResponse(from: &body, version: version)
            } catch {
                throw .malformedResponse(api: "ApiVersions", address: address.description, detail: "\(error)")
            }
            if response.errorCode == KafkaErrorCode.unsupportedVersion.rawValue && version > 0 { continue }
            if let error = SluiceClientError.serverIfError(response.errorCode, api: .apiVersions, resource: nil) {
                throw error
            }
            var versions: [Int16: ClosedRange<Int16>] = [:]
            for key in response.apiKeys where key.minVersion <= key.maxVersion {
                versions[key.apiKey] = key.minVersion...key.maxVersion
            }
            return versions
        }
        throw .unsupportedVersion(api: "ApiVersions", address: address.description)
    }

    /// Whether the connection is still usable; a closed one is replaced by its owner.
    var isActive: Bool { channel.isActive }

    /// The highest version both sides support for `R`, capped at `max` (nil: none in common).
    /// Flexible versions are left out: this connection frames every request with header v1
    /// and reads response header v0.
    func version<R: APIRequest>(for type: R.Type, max: Int16) -> Int16? {
        guard let theirs = apiVersions[R.apiKey] else { return nil }
        let nonFlexibleMax = KafkaAPIKey(rawValue: R.apiKey)?.firstFlexibleVersion.map { $0 - 1 } ?? Int16.max
        let high = Swift.min(theirs.upperBound, R.versions.upperBound, max, nonFlexibleMax)
        let low = Swift.max(theirs.lowerBound, R.versions.lowerBound)
        return high >= low ? high : nil
    }

    /// Sends `request` at `version` and decodes its answer.
    func send<R: APIRequest>(_ request: R, version: Int16) async throws(SluiceClientError) -> R.Response {
        let frame = Self.encode(request, version: version, clientID: clientID, allocator: channel.allocator)
        var body = try await Self.exchange(frame, api: Self.apiName(R.apiKey), expectsResponse: true,
                                           on: channel, address: address)
        do {
            return try R.Response(from: &body, version: version)
        } catch {
            throw .malformedResponse(api: Self.apiName(R.apiKey), address: address.description, detail: "\(error)")
        }
    }

    /// Writes `request` now and returns its answer's future, without waiting: the producer
    /// writes its requests in sequence order from its sender and awaits them elsewhere.
    /// Decode the answer with ``decode(_:as:version:)``.
    func start<R: APIRequest>(_ request: R, version: Int16, expectsResponse: Bool = true) -> EventLoopFuture<ByteBuffer> {
        let frame = Self.encode(request, version: version, clientID: clientID, allocator: channel.allocator)
        return Self.write(frame, api: Self.apiName(R.apiKey), expectsResponse: expectsResponse, on: channel)
    }

    /// Decodes a response body of `R` at `version`.
    func decode<R: APIResponse>(_ body: ByteBuffer, as type: R.Type, version: Int16) throws(SluiceClientError) -> R {
        var body = body
        do {
            return try R(from: &body, version: version)
        } catch {
            throw .malformedResponse(api: Self.apiName(R.apiKey), address: address.description, detail: "\(error)")
        }
    }

    /// Sends a request the node does not answer (Produce with acks=0); returns once written.
    func sendWithoutResponse<R: APIRequest>(_ request: R, version: Int16) async throws(SluiceClientError) {
        let frame = Self.encode(request, version: version, clientID: clientID, allocator: channel.allocator)
        _ = try await Self.exchange(frame, api: Self.apiName(R.apiKey), expectsResponse: false,
                                    on: channel, address: address)
    }

    /// Closes the connection; pending calls fail.
    func close() async {
        try? await channel.close()
    }

    // MARK: framing

    /// A whole frame: size prefix, request header v1 (correlation id 0, stamped by the
    /// handler), body. Written in one buffer so the frame is never copied again.
    static func encode<R: APIRequest>(_ request: R, version: Int16, clientID: String,
                                      allocator: ByteBufferAllocator) -> ByteBuffer {
        var frame = allocator.buffer(capacity: 256)
        frame.writeInteger(Int32(0))
        RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationID: 0, clientID: clientID)
            .encode(into: &frame, version: 1)
        request.encode(into: &frame, version: version)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)
        return frame
    }

    private static func exchange(_ frame: ByteBuffer, api: String, expectsResponse: Bool, on channel: any Channel,
                                 address: BrokerAddress) async throws(SluiceClientError) -> ByteBuffer {
        do {
            return try await write(frame, api: api, expectsResponse: expectsResponse, on: channel).get()
        } catch let error as SluiceClientError {
            throw error
        } catch {
            throw .connectionClosed(address: address.description, reason: "\(error)")
        }
    }

    private static func write(_ frame: ByteBuffer, api: String, expectsResponse: Bool,
                              on channel: any Channel) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        // A write that never reaches the handler (the pipeline is already torn down) fails
        // here; otherwise the handler completes `promise`. A second completion is ignored.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { promise.fail($0) }
        channel.writeAndFlush(OutboundRequest(frame: frame, expectsResponse: expectsResponse, api: api,
                                              promise: promise), promise: written)
        return promise.futureResult
    }

    static func apiName(_ key: Int16) -> String {
        KafkaAPIKey(rawValue: key).map { "\($0)" } ?? "API \(key)"
    }
}

extension SluiceClientError {
    /// The error for a raw error code, nil for 0.
    static func serverIfError(_ code: Int16, api: KafkaAPIKey, resource: String?,
                              message: String? = nil) -> SluiceClientError? {
        code == 0 ? nil : .server(code: code, api: api, resource: resource, message: message)
    }
}
