import Foundation

/// A test CA, a server certificate and client certificates, made with the openssl CLI in a
/// temporary directory when the tests start (no private key is committed). Keys are chmod 600.
final class TestCertificates {
    let directory: URL
    var caFile: String { path("ca.pem") }
    var serverCert: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    /// Signed by the CA, subject O=Example,CN=alice.
    var clientCert: String { path("alice.pem") }
    var clientKey: String { path("alice.key") }
    /// A second, untrusted CA and a client certificate it signed.
    var otherCA: String { path("other-ca.pem") }
    var strangerCert: String { path("stranger.pem") }
    var strangerKey: String { path("stranger.key") }

    nonisolated(unsafe) static let shared = TestCertificates()

    private init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sy-tls-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        makeCA("ca", subject: "/CN=Switchyard Test CA")
        makeLeaf("server", ca: "ca", subject: "/CN=localhost", ext: "subjectAltName=DNS:localhost,IP:127.0.0.1")
        makeLeaf("alice", ca: "ca", subject: "/O=Example/CN=alice", ext: "extendedKeyUsage=clientAuth")
        makeCA("other-ca", subject: "/CN=Other CA")
        makeLeaf("stranger", ca: "other-ca", subject: "/CN=stranger", ext: "extendedKeyUsage=clientAuth")
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func makeCA(_ name: String, subject: String) {
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject])
        chmod(path("\(name).key"), 0o600)
    }

    private func makeLeaf(_ name: String, ca: String, subject: String, ext: String) {
        openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        chmod(path("\(name).key"), 0o600)
        try? ext.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                 "-CAcreateserial", "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext")])
    }

    private func openssl(_ args: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "openssl \(args.joined(separator: " ")) failed")
    }
}
