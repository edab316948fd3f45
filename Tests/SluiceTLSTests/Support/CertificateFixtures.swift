import Foundation
import SluiceTLS

/// Throwaway certificates made once per test run in a temp directory: two unrelated clusters
/// from `deploy/gen-certs.sh` (so the script is exercised too) and, signed by the first
/// cluster's CA, an expired server certificate made with `openssl ca` and backdated dates.
struct CertificateFixtures: Sendable {
    let directory: String
    /// The trusted cluster.
    let cluster: String
    /// A second cluster whose CA nobody trusts.
    let otherCluster: String

    var caPath: String { cluster + "/ca.crt" }
    func certificate(_ name: String, in dir: String? = nil) -> String { (dir ?? cluster) + "/\(name).crt" }
    func key(_ name: String, in dir: String? = nil) -> String { (dir ?? cluster) + "/\(name).key" }
    var expiredCertificate: String { cluster + "/expired/expired.crt" }
    var expiredKey: String { cluster + "/expired/expired.key" }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let genCerts = packageRoot + "/deploy/gen-certs.sh"

    static func make() throws -> CertificateFixtures {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-tls-tests-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: directory)
        let made = CertificateFixtures(directory: directory, cluster: directory + "/cluster",
                                           otherCluster: directory + "/other")
        try shell("\(genCerts) --nodes 2 '\(made.cluster)' >/dev/null")
        try shell("\(genCerts) --nodes 1 '\(made.otherCluster)' >/dev/null")
        try shell(expiredScript, in: made.cluster)
        // Removed when the test process exits normally. The closure captures nothing (C
        // function pointer); it reads the global.
        atexit { try? FileManager.default.removeItem(atPath: fixtures.directory) }
        return made
    }

    /// `openssl ca` is the OpenSSL 3.0 tool that takes explicit -startdate/-enddate.
    private static let expiredScript = """
        set -e
        mkdir -p expired && cd expired && : > index.txt && echo 01 > serial
        cat > ca.cnf <<'CNF'
        [ca]
        default_ca = expired
        [expired]
        database = index.txt
        new_certs_dir = .
        certificate = ../ca.crt
        private_key = ../ca.key
        serial = serial
        default_md = sha256
        policy = any
        [any]
        commonName = supplied
        [ext]
        basicConstraints = critical,CA:FALSE
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost,IP:127.0.0.1
        CNF
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key 2>/dev/null
        openssl req -new -key expired.key -subj /CN=expired -out expired.csr
        openssl ca -batch -config ca.cnf -extensions ext -notext \
            -startdate 20200101000000Z -enddate 20200201000000Z -in expired.csr -out expired.crt 2>/dev/null
        """
}

/// Made on first use; Swift runs a global's initialiser exactly once, even across threads.
let fixtures: CertificateFixtures = {
    do { return try CertificateFixtures.make() } catch { fatalError("cannot make test certificates: \(error)") }
}()

struct ShellError: Error, CustomStringConvertible {
    var script: String
    var status: Int32
    var output: String
    var description: String { "`\(script)` exited \(status): \(output)" }
}

/// Runs `script` with bash and returns its standard output (standard error joins it on failure).
@discardableResult
func shell(_ script: String, in directory: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw ShellError(script: script, status: process.terminationStatus, output: text)
    }
    return text
}

extension TLSContext {
    static func server(_ name: String = "node1", in dir: String? = nil,
                       clientAuthentication: TLSConfiguration.ClientAuthentication = .none) throws -> TLSContext {
        try TLSContext(configuration: .server(
            certificateChainPath: fixtures.certificate(name, in: dir), privateKeyPath: fixtures.key(name, in: dir),
            caBundlePath: fixtures.caPath, clientAuthentication: clientAuthentication))
    }

    static func client(serverName: String? = "localhost", certificate: String? = nil,
                       in dir: String? = nil) throws -> TLSContext {
        try TLSContext(configuration: .client(
            caBundlePath: fixtures.caPath, serverName: serverName,
            certificateChainPath: certificate.map { fixtures.certificate($0, in: dir) },
            privateKeyPath: certificate.map { fixtures.key($0, in: dir) }))
    }
}
