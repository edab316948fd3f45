/// The message and version a decoder is working on; threaded through nested decoders so an
/// error deep inside names the top-level message.
public struct WireContext: Sendable {
    public let message: StaticString
    public let version: Int16

    public init(message: StaticString, version: Int16) {
        self.message = message
        self.version = version
    }

    /// Builds the error for `field`; kept out of line because it runs only on bad input.
    @inline(never)
    public func error(_ reason: WireError.Reason, _ field: StaticString) -> WireError {
        WireError(reason, message: message.description, field: field.description, version: version)
    }
}
