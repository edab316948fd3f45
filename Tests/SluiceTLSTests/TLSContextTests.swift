import Foundation
import NIOCore
import SluiceTLS
import Testing

@Suite("TLS configuration and context")
struct TLSContextTests {
    @Test func missingFilesAreAllReportedAtOnce() {
        let configuration = TLSConfiguration.server(
            certificateChainPath: "/nonexistent/node.crt", privateKeyPath: "/nonexistent/node.key",
            caBundlePath: "/nonexistent/ca.crt", clientAuthentication: .required)
        #expect(throws: TLSConfigurationError(problems: [
            .fileMissing(what: "certificate chain", path: "/nonexistent/node.crt"),
            .fileMissing(what: "private key", path: "/nonexistent/node.key"),
            .fileMissing(what: "CA bundle", path: "/nonexistent/ca.crt"),
        ])) { try TLSContext(configuration: configuration) }
    }

    @Test func serverWithoutCertificateAndRequiredClientAuthWithoutCAAreReported() throws {
        let configuration = TLSConfiguration(
            role: .server, certificateChainPath: nil, privateKeyPath: nil, caBundlePath: nil,
            clientAuthentication: .required, serverName: nil)
        let error = try #require(throws: TLSConfigurationError.self) { try configuration.validate() }
        #expect(error.problems.count == 3)
        #expect(error.description.contains("no CA bundle configured"))
    }

    @Test func fileThatIsNotPEMIsReportedAsNotPEM() throws {
        let path = fixtures.directory + "/not-pem.crt"
        try Data("this is not a certificate\n".utf8).write(to: URL(fileURLWithPath: path))
        let configuration = TLSConfiguration.client(caBundlePath: path, serverName: "localhost")
        #expect(throws: TLSConfigurationError(problems: [
            .notPEM(what: "CA bundle", path: path, expected: "CERTIFICATE"),
        ])) { try configuration.validate() }
    }

    @Test(.disabled(if: getuid() == 0, "root can read a file whatever its mode"))
    func unreadableFileIsReportedAsUnreadable() throws {
        let path = fixtures.directory + "/unreadable.crt"
        try FileManager.default.copyItem(atPath: fixtures.caPath, toPath: path)
        chmod(path, 0)
        #expect(throws: TLSConfigurationError(problems: [.fileUnreadable(what: "CA bundle", path: path)])) {
            try TLSConfiguration.client(caBundlePath: path, serverName: "localhost").validate()
        }
    }

    @Test func keyOfAnotherCertificateIsReportedAsNotMatching() throws {
        let configuration = TLSConfiguration.server(
            certificateChainPath: fixtures.certificate("node1"), privateKeyPath: fixtures.key("node2"))
        let error = try #require(throws: TLSConfigurationError.self) { try TLSContext(configuration: configuration) }
        guard case .keyDoesNotMatchCertificate(let cert, let key, let openSSL)? = error.problems.first else {
            Issue.record("expected keyDoesNotMatchCertificate, got \(error)")
            return
        }
        #expect(cert == fixtures.certificate("node1") && key == fixtures.key("node2"))
        #expect(openSSL.contains("values mismatch") || openSSL.contains("mismatch"), "\(openSSL)")
    }

    @Test func corruptPEMIsReportedWithOpenSSLsReason() throws {
        let path = fixtures.directory + "/corrupt.crt"
        try Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        let configuration = TLSConfiguration.server(certificateChainPath: path,
                                                    privateKeyPath: fixtures.key("node1"))
        let error = try #require(throws: TLSConfigurationError.self) { try TLSContext(configuration: configuration) }
        guard case .rejectedByOpenSSL(what: "certificate chain", path: path, _)? = error.problems.first else {
            Issue.record("expected rejectedByOpenSSL, got \(error)")
            return
        }
    }

    @Test func reloadServesRenewedCertificatesToNewConnections() throws {
        let directory = fixtures.directory + "/reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/server.crt", key = directory + "/server.key"
        func install(_ name: String) throws {
            for (from, to) in [(fixtures.certificate(name), certificate), (fixtures.key(name), key)] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install("node1")
        let server = try TLSContext(configuration: .server(certificateChainPath: certificate, privateKeyPath: key))
        let before = try EmbeddedTLSPair(client: .client(), server: server)
        try before.connect()
        #expect(before.clientRecorder.sessionInfo?.peerSubject == "CN=node1,O=Sluice")

        try install("node2")
        try server.reload()
        let after = try EmbeddedTLSPair(client: .client(), server: server)
        try after.connect()
        #expect(after.clientRecorder.sessionInfo?.peerSubject == "CN=node2,O=Sluice")
        // The connection made before the reload keeps working with the old context.
        #expect(try before.send(patternBytes(1000), fromClient: true) == patternBytes(1000))

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: key))
        #expect(throws: TLSConfigurationError.self) { try server.reload() }
        let stillNode2 = try EmbeddedTLSPair(client: .client(), server: server)
        try stillNode2.connect()
        #expect(stillNode2.clientRecorder.sessionInfo?.peerSubject == "CN=node2,O=Sluice",
                "a failed reload keeps the working context")
    }
}
