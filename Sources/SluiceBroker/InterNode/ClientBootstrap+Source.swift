import NIOCore
import NIOPosix

extension ClientBootstrap {
    /// Binds the connection's local end to `source` before connecting (port 0: any), or leaves
    /// the choice to the kernel when nil. See `NodeConfig.Listeners.interNodeSource`.
    func binding(source: SocketAddress?) -> ClientBootstrap {
        source.map { bind(to: $0) } ?? self
    }
}
