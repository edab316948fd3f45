import Foundation

/// Every problem ``TLSConfiguration/validate()`` or ``TLSContext`` found, so an operator fixes
/// them all in one go rather than one per restart.
public struct TLSConfigurationError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// A path the role needs was not given (`what` names it: "certificate chain", …).
        case missingSetting(what: String, reason: String)
        case fileMissing(what: String, path: String)
        case fileUnreadable(what: String, path: String)
        /// The file exists but has no `-----BEGIN …-----` block of the expected kind.
        case notPEM(what: String, path: String, expected: String)
        /// OpenSSL refused the file's contents; `openSSL` is its error queue.
        case rejectedByOpenSSL(what: String, path: String, openSSL: String)
        /// `SSL_CTX_check_private_key` failed: the key is not the certificate's.
        case keyDoesNotMatchCertificate(certificatePath: String, keyPath: String, openSSL: String)
        case invalidLimit(what: String, value: String)

        public var description: String {
            switch self {
            case let .missingSetting(what, reason): "no \(what) configured: \(reason)"
            case let .fileMissing(what, path): "\(what) file \(path) does not exist"
            case let .fileUnreadable(what, path): "\(what) file \(path) cannot be read"
            case let .notPEM(what, path, expected):
                "\(what) file \(path) is not PEM (no -----BEGIN \(expected)----- block)"
            case let .rejectedByOpenSSL(what, path, openSSL):
                "\(what) file \(path) was rejected by OpenSSL: \(openSSL)"
            case let .keyDoesNotMatchCertificate(cert, key, openSSL):
                "private key \(key) does not match certificate \(cert): \(openSSL)"
            case let .invalidLimit(what, value): "\(what) must be positive, not \(value)"
            }
        }
    }

    public var problems: [Problem]

    public init(problems: [Problem]) { self.problems = problems }

    public var description: String {
        "invalid TLS configuration: " + problems.map(\.description).joined(separator: "; ")
    }
}

extension TLSConfiguration {
    /// Checks everything that can be checked without OpenSSL: the settings the role needs,
    /// that each file exists, is readable and holds a PEM block of the right kind. Reports
    /// every problem at once. ``TLSContext`` calls it first, then lets OpenSSL parse the files
    /// and match the key to the certificate.
    public func validate() throws(TLSConfigurationError) {
        var problems: [TLSConfigurationError.Problem] = []
        if role == .server && certificateChainPath == nil {
            problems.append(.missingSetting(what: "certificate chain",
                                            reason: "a TLS server must present a certificate"))
        }
        if role == .server && privateKeyPath == nil {
            problems.append(.missingSetting(what: "private key",
                                            reason: "a TLS server must prove it owns its certificate"))
        }
        if role == .client && (certificateChainPath == nil) != (privateKeyPath == nil) {
            problems.append(.missingSetting(
                what: certificateChainPath == nil ? "certificate chain" : "private key",
                reason: "a client certificate needs both the chain and its key"))
        }
        if role == .server && clientAuthentication != .none && caBundlePath == nil {
            problems.append(.missingSetting(
                what: "CA bundle",
                reason: "client authentication \(clientAuthentication.rawValue) needs CAs to verify clients against"))
        }
        if pendingPlaintextBytesMax <= 0 {
            problems.append(.invalidLimit(what: "pendingPlaintextBytesMax", value: "\(pendingPlaintextBytesMax)"))
        }
        if closeNotifyWaitMax <= .zero {
            problems.append(.invalidLimit(what: "closeNotifyWaitMax", value: "\(closeNotifyWaitMax)"))
        }
        if let path = certificateChainPath {
            problems += Self.checkPEM(what: "certificate chain", path: path, expected: ["CERTIFICATE"])
        }
        if let path = privateKeyPath {
            problems += Self.checkPEM(what: "private key", path: path,
                                      expected: ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"])
        }
        if let path = caBundlePath {
            problems += Self.checkPEM(what: "CA bundle", path: path, expected: ["CERTIFICATE"])
        }
        if !problems.isEmpty { throw TLSConfigurationError(problems: problems) }
    }

    private static func checkPEM(what: String, path: String,
                                 expected: [String]) -> [TLSConfigurationError.Problem] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
              !isDirectory.boolValue else {
            return [.fileMissing(what: what, path: path)]
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return [.fileUnreadable(what: what, path: path)]
        }
        let text = String(decoding: data, as: UTF8.self)
        let found = expected.contains { text.contains("-----BEGIN \($0)-----") }
        return found ? [] : [.notPEM(what: what, path: path, expected: expected[0])]
    }
}
