import MCPCore
import XCTest
@testable import Security

/// Published examples, so the signature code is checked against someone else's bytes and not
/// only against the test signer. The keys are the RFCs' public example keys.
final class RFCVectorTests: XCTestCase {
    func key(_ jwk: [String: JSONValue]) throws -> JWKSet {
        JWKSet(keys: [try JWK.publicKey(jwk).get()])
    }

    func signatureCheck(_ token: String, keys: JWKSet, secret: [UInt8]? = nil) throws -> Result<Void, JWTRejection> {
        let jws = try CompactJWS.parse(token).get()
        return Fixture.verifier(secret: secret).verifySignature(jws, keys: keys)
    }

    func tampered(_ token: String) -> String {
        var bytes = Array(token.utf8)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 8037 Appendix A.4 (EdDSA over the text "Example of Ed25519 signing").
    func testRFC8037Ed25519() throws {
        let keys = try key(["kty": .string("OKP"), "crv": .string("Ed25519"),
                            "x": .string("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")])
        let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
            + "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        XCTAssertEqual(String(decoding: try CompactJWS.parse(token).get().payload, as: UTF8.self), "Example of Ed25519 signing")
        XCTAssertNoThrow(try signatureCheck(token, keys: keys).get())
        XCTAssertThrowsError(try signatureCheck(tampered(token), keys: keys).get())
    }

    static let rfc7515Claims = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

    /// RFC 7515 Appendix A.2 (RS256, 2048-bit example key).
    func testRFC7515RS256() throws {
        let n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
            + "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
            + "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
        let keys = try key(["kty": .string("RSA"), "n": .string(n), "e": .string("AQAB")])
        let token = "eyJhbGciOiJSUzI1NiJ9." + Self.rfc7515Claims + "."
            + "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
            + "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
            + "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
        XCTAssertNoThrow(try signatureCheck(token, keys: keys).get())
        XCTAssertThrowsError(try signatureCheck(tampered(token), keys: keys).get())
        // The full verifier gets past the signature, reads the claims from the CRLF-laden JSON
        // as sent (issuer "joe", exp in 2011) and stops at the example's missing `aud`.
        let verifier = JWTVerifier(issuer: "joe", audience: "joe", clockSkew: 0)
        XCTAssertEqual(verifier.verify(token, keys: keys, now: 1_300_819_000), .failure(.missingClaim("aud")))
    }

    /// RFC 7515 Appendix A.3 (ES256, JOSE r||s signature).
    func testRFC7515ES256() throws {
        let keys = try key(["kty": .string("EC"), "crv": .string("P-256"),
                            "x": .string("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
                            "y": .string("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")])
        let token = "eyJhbGciOiJFUzI1NiJ9." + Self.rfc7515Claims + "."
            + "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
        XCTAssertNoThrow(try signatureCheck(token, keys: keys).get())
        XCTAssertThrowsError(try signatureCheck(tampered(token), keys: keys).get())
    }

    /// RFC 7515 Appendix A.1 (HS256 with the example's 64-byte octet key).
    func testRFC7515HS256() throws {
        let secret = Base64URL.decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")!
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + Self.rfc7515Claims + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        XCTAssertNoThrow(try signatureCheck(token, keys: .empty, secret: secret).get())
        XCTAssertEqual(try rejection(signatureCheck(tampered(token), keys: .empty, secret: secret)), .badSignature)
        XCTAssertEqual(try rejection(signatureCheck(token, keys: .empty)), .algorithmNotAllowed)
    }

    func rejection(_ result: Result<Void, JWTRejection>) -> JWTRejection? {
        if case .failure(let r) = result { return r }
        return nil
    }
}
