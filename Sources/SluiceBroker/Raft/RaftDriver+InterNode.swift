import Logging
import SluiceWire

extension RaftDriver {
    /// Serves the Raft API keys on the inter-node listener by stepping this driver. A frame
    /// that does not decode throws, so the server logs it and closes that connection.
    public nonisolated func register(in registry: inout InterNodeHandlerRegistry) {
        registry.register(apiKeys: RaftWireCodec.apiKeys) { [weak self] request in
            let message = try RaftWireCodec.decode(header: request.header, body: request.body)
            await self?.receive(message)
            return nil
        }
    }
}
