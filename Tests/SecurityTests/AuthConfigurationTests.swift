import XCTest
@testable import Security

/// The validating initializer: each refusal names its option.
final class AuthConfigurationTests: XCTestCase {
    var dir: TempDirectory!
    override func setUp() { dir = TempDirectory() }
    override func tearDown() { dir.remove() }

    func option(_ make: () throws(AuthConfigurationError) -> AuthConfiguration) -> String? {
        do { _ = try make(); return nil } catch { return error.option }
    }

    func testRefusalsNameTheOption() throws {
        dir.write("jwks.json", "{\"keys\":[]}", mode: 0o644)
        XCTAssertEqual(option { () throws(AuthConfigurationError) in try AuthConfiguration() }, "auth")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in try AuthConfiguration(audience: "a", jwks: "x") }, "auth-issuer")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in try AuthConfiguration(issuer: "i", jwks: "x") }, "auth-audience")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in try AuthConfiguration(issuer: "i", audience: "a") }, "auth-jwks")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "has space", audience: "a", jwks: "x") }, "auth-issuer")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", jwks: "http://idp.example.test/jwks") }, "auth-jwks")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", jwks: "x", clockSkew: 301) }, "auth-clock-skew")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", jwks: "x", jwksRefetchInterval: 0) }, "auth-jwks-refetch-interval")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", jwks: "x", jwksCAFile: dir.file("jwks.json")) }, "auth-jwks-ca-file")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in try AuthConfiguration(apiKeysFile: dir.file("none")) }, "api-keys")
        XCTAssertNil(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", jwks: "https://idp.example.test/jwks", clockSkew: 300) })
    }

    func testSharedSecretComesFromAProtectedFileAndStaysOutOfErrors() throws {
        let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
        dir.write("secret", secret + "\n", mode: 0o644)
        do {
            _ = try AuthConfiguration(issuer: "i", audience: "a", sharedSecretFile: dir.file("secret"))
            XCTFail("a world-readable secret file was accepted")
        } catch {
            XCTAssertEqual(error.option, "auth-shared-secret-file")
            XCTAssertFalse(error.description.contains(secret))
        }
        dir.write("secret", secret + "\n")
        let config = try AuthConfiguration(issuer: "i", audience: "a", sharedSecretFile: dir.file("secret"))
        XCTAssertEqual(config.jwt?.sharedSecret?.bytes, Array(secret.utf8), "trailing newline trimmed")
        // Printing or dumping the configuration shows no secret, as text or as bytes.
        let asBytes = Array(secret.utf8).map(String.init).joined(separator: ", ")
        var dumped = ""
        dump(config, to: &dumped)
        for text in ["\(config)", String(reflecting: config), dumped] {
            XCTAssertFalse(text.contains(secret) || text.contains(asBytes), text)
        }
        XCTAssertTrue("\(config)".contains("<redacted>"))
        XCTAssertNil(config.jwt?.jwks)
        dir.write("short", "too-short")
        XCTAssertEqual(option { () throws(AuthConfigurationError) in
            try AuthConfiguration(issuer: "i", audience: "a", sharedSecretFile: dir.file("short")) }, "auth-shared-secret-file")
    }
}
