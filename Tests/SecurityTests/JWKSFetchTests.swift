import Foundation
import MCPCore
import XCTest
@testable import Security

/// The https JWKS fetch against a real TLS server: Python's http.server wrapped in ssl, with a
/// CA and server certificate made by the openssl CLI in a temporary directory.
final class JWKSFetchTests: XCTestCase {
    var dir: TempDirectory!
    var server: Process?

    override func setUpWithError() throws {
        dir = TempDirectory()
        try makeCertificates()
    }

    override func tearDown() {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        dir.remove()
    }

    func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("\(args.prefix(2).joined(separator: " ")) failed") }
    }

    /// A test CA, a server certificate for DNS:localhost only (so 127.0.0.1 must fail the
    /// name check), and an unrelated CA.
    func makeCertificates() throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(["openssl", "req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        try run(["openssl", "req", "-x509"] + ec + ["-keyout", "other.key", "-out", "other-ca.pem", "-days", "1",
                 "-subj", "/CN=Other CA"])
        try run(["openssl", "req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        dir.write("ext.cnf", "subjectAltName=DNS:localhost\n")
        try run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf"])
        // Same CA and key, another name: trusted, but not for "localhost".
        dir.write("elsewhere.cnf", "subjectAltName=DNS:elsewhere.example.test\n")
        try run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "elsewhere.pem", "-days", "1", "-extfile", "elsewhere.cnf"])
    }

    /// Serves the directory over https on 127.0.0.1; a file named `fail` makes every GET a 500.
    func startServer(certificate: String = "server.pem") throws -> UInt16 {
        dir.write("server.py", """
            import http.server, os, ssl, sys
            os.chdir(sys.argv[1])
            class Handler(http.server.SimpleHTTPRequestHandler):
                def log_message(self, *args): pass
                def do_GET(self):
                    if os.path.exists("fail"):
                        self.send_error(500)
                        return
                    super().do_GET()
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], "server.key")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", dir.file("server.py"), dir.path, certificate]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw XCTSkip("python3 https server did not start") }
            line += chunk
        }
        return try XCTUnwrap(UInt16(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func publish(_ keys: [TestKey], kids: [String]) {
        let entries = zip(keys, kids).map { JSONValue.object($0.jwk(kid: $1)) }
        dir.write("jwks.json", JSONValue.object(["keys": .array(entries)]).compactJSON(), mode: 0o644)
    }

    func token(_ key: TestKey, alg: String, kid: String) -> String {
        TestToken.make(header: ["alg": .string(alg), "kid": .string(kid)], claims: Fixture.claims(), key: key)
    }

    func testRotationRefetchesAndAFailedFetchKeepsTheOldKeys() throws {
        publish([TestKey.ec], kids: ["k1"])
        let port = try startServer()
        let results = Results()
        let config = try AuthConfiguration(issuer: Fixture.issuer, audience: Fixture.audience,
                                           jwks: "https://localhost:\(port)/jwks.json", jwksCAFile: dir.file("ca.pem"))
        let auth = try BearerAuthentication(configuration: config) { results.append($0) }
        // The start-up fetch runs in the background; the loop would install its result.
        auth.install(try XCTUnwrap(results.wait(count: 1).first).get())
        XCTAssertEqual(auth.currentKeys.keys.map(\.keyID), ["k1"])
        XCTAssertNoThrow(try auth.authenticate(bearer: token(TestKey.ec, alg: "ES256", kid: "k1"), now: Fixture.now).get())

        // Rotation: the server publishes k2; a token signed with it fails once and starts a refetch.
        publish([TestKey.ec, TestKey.ed25519], kids: ["k1", "k2"])
        let rotated = token(TestKey.ed25519, alg: "EdDSA", kid: "k2")
        XCTAssertEqual(auth.authenticate(bearer: rotated, now: Fixture.now).failureValue?.reason, "unknown key id")
        auth.install(try XCTUnwrap(results.wait(count: 2).last).get())
        XCTAssertEqual(try auth.authenticate(bearer: rotated, now: Fixture.now).get().subject, "alice")

        // A failed fetch (HTTP 500) reports the failure and leaves the keys in place.
        dir.write("fail", "")
        let unknown = token(TestKey.ed25519, alg: "EdDSA", kid: "k3")
        XCTAssertEqual(auth.authenticate(bearer: unknown, now: Fixture.now + 1).failureValue?.reason, "unknown key id")
        XCTAssertFalse(auth.jwksSource!.refetch(now: Fixture.now + 29), "rate limited: no fetch within the interval")
        XCTAssertEqual(auth.authenticate(bearer: unknown, now: Fixture.now + 30).failureValue?.reason, "unknown key id")
        guard case .failure(let error)? = results.wait(count: 3).last else { return XCTFail("the fetch did not fail") }
        XCTAssertTrue(error.description.contains("HTTP status 500"), error.description)
        XCTAssertEqual(auth.currentKeys.keys.map(\.keyID), ["k1", "k2"])
        XCTAssertNoThrow(try auth.authenticate(bearer: rotated, now: Fixture.now).get())
    }

    func testCertificateAndHostNameAreVerified() throws {
        publish([TestKey.ec], kids: ["k1"])
        let port = try startServer()
        func load(_ url: String, ca: String?) -> Result<JWKSet, JWKSFetchError> {
            let source = JWKSSource(location: try! JWKSSource.Location(url), caFile: ca.map(dir.file), onFetch: { _ in })
            do throws(JWKSFetchError) { return .success(try source.load()) } catch { return .failure(error) }
        }
        XCTAssertEqual(try load("https://localhost:\(port)/jwks.json", ca: "ca.pem").get().keys.count, 1)
        let untrusted = load("https://localhost:\(port)/jwks.json", ca: "other-ca.pem").failureValue?.description ?? ""
        XCTAssertTrue(untrusted.contains("not trusted"), untrusted)
        let systemStore = load("https://localhost:\(port)/jwks.json", ca: nil).failureValue?.description ?? ""
        XCTAssertTrue(systemStore.contains("not trusted"), systemStore)
        let wrongName = load("https://127.0.0.1:\(port)/jwks.json", ca: "ca.pem").failureValue?.description ?? ""
        XCTAssertTrue(wrongName.contains("not trusted"), wrongName)
        let missing = load("https://localhost:\(port)/missing.json", ca: "ca.pem").failureValue?.description ?? ""
        XCTAssertTrue(missing.contains("HTTP status 404"), missing)
        // A trusted certificate for another DNS name.
        server?.terminate()
        server?.waitUntilExit()
        let other = try startServer(certificate: "elsewhere.pem")
        let otherName = load("https://localhost:\(other)/jwks.json", ca: "ca.pem").failureValue?.description ?? ""
        XCTAssertTrue(otherName.contains("not trusted"), otherName)
    }
}
