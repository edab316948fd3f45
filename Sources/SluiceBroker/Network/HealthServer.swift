import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `GET /healthz`: 200 once the node serves clients, 503 before (docs/NODE-CONFIG.md).
/// `GET /metrics`: the node's metrics in Prometheus text format (docs/METRICS.md).
public struct HealthServer: Service {
    let address: HostPort
    let group: any EventLoopGroup
    let logger: Logger
    let isReady: @Sendable () -> Bool
    /// Renders `/metrics`; nil answers it 404.
    var metrics: (@Sendable () async -> String)? = nil

    public func run() async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("serving /healthz\(metrics == nil ? "" : " and /metrics") on \(address)")
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { try? await answer(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func answer(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            for try await part in inbound {
                guard case .head(let head) = part else { continue }
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                let plain = "text/plain"
                let (status, contentType, body): (HTTPResponseStatus, String, String) = switch path {
                case "/healthz": isReady() ? (.ok, plain, "ok\n") : (.serviceUnavailable, plain, "not ready\n")
                // The text exposition format's content type (Prometheus 0.0.4).
                case "/metrics" where metrics != nil: (.ok, "text/plain; version=0.0.4; charset=utf-8", await metrics!())
                default: (.notFound, plain, "not found\n")
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: contentType)
                headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                try await outbound.write(.end(nil))
                return
            }
        }
    }
}
