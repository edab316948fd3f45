/// Which handler serves which internal API key. Built before the server starts and then
/// immutable, so a subsystem (Raft, broker heartbeats, replica fetch) adds its APIs by
/// registering here, without touching the server's dispatch code.
public struct InterNodeHandlerRegistry: Sendable {
    private var handlers: [Int16: InterNodeHandler] = [:]

    public init() {}

    /// Serve every key in `apiKeys` with `handler`.
    /// - Precondition: no key is registered twice (two subsystems claiming one key is a bug).
    public mutating func register(apiKeys: some Sequence<Int16>, _ handler: @escaping InterNodeHandler) {
        for key in apiKeys {
            precondition(handlers[key] == nil, "inter-node API key \(key) registered twice")
            handlers[key] = handler
        }
    }

    public func handler(for apiKey: Int16) -> InterNodeHandler? { handlers[apiKey] }

    public var apiKeys: [Int16] { handlers.keys.sorted() }
}
