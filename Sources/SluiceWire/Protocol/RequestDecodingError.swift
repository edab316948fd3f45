import NIOCore

/// Why a request frame could not become a `DecodedRequest`, and what the broker can still say.
public enum RequestDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not even the header could be read; there is no correlation id to answer. Close.
    case malformedHeader(WireError)
    /// An API key Sluice does not implement. Kafka closes the connection; so should Sluice.
    case unknownAPIKey(RequestHeader)
    /// A known API at a version Sluice does not implement. For ApiVersions, answer with
    /// `SupportedAPIs.apiVersionsFallback(correlationID:)` (the client retries with v0);
    /// for any other API there is no layout to answer in, so close (as Kafka does).
    case unsupportedVersion(RequestHeader, supported: ClosedRange<Int16>)
    /// The header was fine but the body is not a valid message of its version. The header's
    /// correlation id allows a log line that names the request; then close.
    case malformedBody(RequestHeader, WireError)

    public var description: String {
        switch self {
        case .malformedHeader(let error): "malformed request header: \(error)"
        case .unknownAPIKey(let header): "unknown API key \(header.apiKey) (\(header))"
        case .unsupportedVersion(let header, let supported):
            "unsupported version \(header.apiVersion) of \(header); supported: \(supported)"
        case .malformedBody(let header, let error): "malformed request (\(header)): \(error)"
        }
    }
}
