import NIOCore

/// Which end of a connection a pipeline is for.
public enum ConnectionSide: Sendable, Equatable {
    /// Accepted by one of our listeners (the TLS server side).
    case accepted
    /// Opened by us to `peer`; a TLS client verifies the peer's certificate against its host.
    case outgoing(peer: HostPort)
}

/// Makes the handler that goes first in an inter-node pipeline, one per connection: the TLS
/// hook (`NodeTLS.interNodeHandlerFactory` plugs `SluiceTLS`'s handlers in here).
public typealias ChannelHandlerFactory = @Sendable (_ channel: any Channel, _ side: ConnectionSide) throws -> any ChannelHandler
