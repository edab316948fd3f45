/// Which handler serves which internal API key. Built before the server starts and then
/// immutable, so a subsystem (Raft, broker heartbeats, replica fetch) adds its APIs by
/// registering here, without touching the server's dispatch code.
public struct InterNodeHandlerRegistry: Sendable {
    private var handlers: [Int16: InterNodeHandler] = [:]
    private var concurrentKeys: Set<Int16> = []

    public init() {}

    /// Serve every key in `apiKeys` with `handler`.
    /// - Parameter concurrent: frames of these keys are handled beside the connection's other
    ///   frames, each answered when it is done (callers match answers by correlation id): a
    ///   replica fetch parked in its long-poll must not hold up the requests behind it. Other
    ///   keys are handled one at a time, in order, as Raft's stream wants.
    /// - Precondition: no key is registered twice (two subsystems claiming one key is a bug).
    public mutating func register(apiKeys: some Sequence<Int16>, concurrent: Bool = false, _ handler: @escaping InterNodeHandler) {
        for key in apiKeys {
            precondition(handlers[key] == nil, "inter-node API key \(key) registered twice")
            handlers[key] = handler
            if concurrent { concurrentKeys.insert(key) }
        }
    }

    public func handler(for apiKey: Int16) -> InterNodeHandler? { handlers[apiKey] }

    public func isConcurrent(_ apiKey: Int16) -> Bool { concurrentKeys.contains(apiKey) }

    public var apiKeys: [Int16] { handlers.keys.sorted() }
}
