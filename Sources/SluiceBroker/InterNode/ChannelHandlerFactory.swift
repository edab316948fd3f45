import NIOCore

/// Makes the handler that goes first in an inter-node pipeline, one per connection: the TLS
/// hook (`SluiceTLS`'s handler plugs in here). `isServer` tells which side of the handshake
/// the connection is on.
public typealias ChannelHandlerFactory = @Sendable (_ channel: any Channel, _ isServer: Bool) throws -> any ChannelHandler
