import MCPCore
import XCTest
@testable import Security

/// JWK Set parsing: what becomes a key and what is skipped.
final class JWKSetTests: XCTestCase {
    func set(_ entries: [[String: JSONValue]]) throws -> JWKSet {
        try JWKSet.parse(JSONValue.object(["keys": .array(entries.map(JSONValue.object))]).compactJSONBytes())
    }

    func testEachKeyTypeParses() throws {
        let s = try set([TestKey.rsa.jwk(kid: "r", alg: "PS256"), TestKey.ec.jwk(kid: "e", use: "sig"),
                         TestKey.ed25519.jwk(kid: "d")])
        XCTAssertEqual(s.keys.map(\.type), [.rsa, .ecP256, .ed25519])
        XCTAssertEqual(s.keys.map(\.keyID), ["r", "e", "d"])
        XCTAssertEqual(s.keys[0].algorithm, .ps256)
        XCTAssertTrue(s.skipped.isEmpty)
    }

    func testUnusableEntriesAreSkippedNotFatal() throws {
        var offCurve = TestKey.ec.jwk(kid: "bad-point")
        offCurve["y"] = offCurve["x"]
        var x448 = TestKey.ed25519.jwk(kid: "x448")
        x448["crv"] = .string("X25519")
        let s = try set([
            TestKey.ed25519.jwk(kid: "good"),
            TestKey.rsa.jwk(kid: "enc", use: "enc"),
            ["kty": .string("oct"), "k": .string("c2VjcmV0"), "kid": .string("hmac")],
            offCurve, x448,
            TestKey(.rsa, rsaBits: 1024).jwk(kid: "short"),
            TestKey.rsa.jwk(kid: "rsa-oaep", alg: "RSA-OAEP"),
            TestKey.ec.jwk(kid: "mismatch", alg: "RS256"),
        ])
        XCTAssertEqual(s.keys.map(\.keyID), ["good"])
        XCTAssertEqual(s.skipped.map(\.keyID), ["enc", "hmac", "bad-point", "x448", "short", "rsa-oaep", "mismatch"])
        // OpenSSL 3.0 refuses an off-curve point when it builds the key (the explicit public
        // check after it is defence in depth).
        XCTAssertEqual(s.skipped[2].reason, "EC key refused by OpenSSL")
        XCTAssertEqual(s.skipped[4].reason, "RSA key shorter than 2048 bits")
    }

    func testASetWithoutUsableKeysIsAnError() {
        XCTAssertThrowsError(try set([TestKey.rsa.jwk(kid: "enc", use: "enc")]))
        XCTAssertThrowsError(try JWKSet.parse(Array("{\"keys\":{}}".utf8)))
        XCTAssertThrowsError(try JWKSet.parse(Array("not json".utf8)))
    }

    func testLookupByKid() throws {
        let s = try set([TestKey.rsa.jwk(kid: "a"), TestKey.ec.jwk(kid: "b")])
        XCTAssertEqual(try s.candidates(keyID: "a", algorithm: .rs256).get().count, 1)
        XCTAssertEqual(s.candidates(keyID: "a", algorithm: .es256).failureValue, .keyTypeMismatch)
        XCTAssertEqual(s.candidates(keyID: "zz", algorithm: .es256).failureValue, .unknownKeyID)
        XCTAssertEqual(try s.candidates(keyID: nil, algorithm: .es256).get().map(\.keyID), ["b"])
        XCTAssertEqual(s.candidates(keyID: nil, algorithm: .edDSA).failureValue, .noKeyForAlgorithm)
    }

    func testJOSESignatureToDER() {
        // r with its top bit set gains a zero byte; s with leading zeros loses them.
        let r = [UInt8](repeating: 0x80, count: 32), s = [UInt8](repeating: 0, count: 31) + [0x05]
        XCTAssertEqual(ECDSASignature.der(fromJOSE: r + s, width: 32), [0x30, 38, 0x02, 33, 0x00] + r + [0x02, 1, 0x05])
        XCTAssertNil(ECDSASignature.der(fromJOSE: r, width: 32))
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
