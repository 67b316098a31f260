@testable import Security
import XCTest

final class SealingTests: XCTestCase {
    private func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// RFC 5869, test cases 1 and 3 (SHA-256; case 3 has no salt and no info).
    func testHKDFVectors() {
        let okm = HKDF.sha256(secret: [UInt8](repeating: 0x0b, count: 22), salt: hex("000102030405060708090a0b0c"),
                              info: hex("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        XCTAssertEqual(okm, hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
        let okm3 = HKDF.sha256(secret: [UInt8](repeating: 0x0b, count: 22), info: [], length: 42)
        XCTAssertEqual(okm3, hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"))
    }

    func testAESGCMRoundTripAndTamperDetection() throws {
        let key = try XCTUnwrap(AESGCMKey([UInt8](repeating: 7, count: 32)))
        let aad = Array("sy:rc:abc".utf8)
        for plain in [[], Array("{\"sum\":3}".utf8), [UInt8](repeating: 0xAB, count: 5000)] {
            let box = try XCTUnwrap(key.seal(plain, associatedData: aad))
            XCTAssertEqual(box.count, plain.count + AESGCMKey.overhead)
            XCTAssertEqual(key.open(box, associatedData: aad), plain)
            // Every byte matters: nonce, ciphertext and tag.
            for i in stride(from: 0, to: box.count, by: max(1, box.count / 17)) {
                var altered = box
                altered[i] ^= 0x01
                XCTAssertNil(key.open(altered, associatedData: aad), "byte \(i) of \(box.count)")
            }
            XCTAssertNil(key.open(box, associatedData: Array("sy:rc:abd".utf8)), "another place")
            XCTAssertNil(key.open(Array(box.dropLast()), associatedData: aad), "truncated")
            XCTAssertNil(try XCTUnwrap(AESGCMKey([UInt8](repeating: 8, count: 32))).open(box, associatedData: aad))
        }
        // Two seals of one plaintext differ (random nonces).
        XCTAssertNotEqual(key.seal([1, 2, 3], associatedData: aad), key.seal([1, 2, 3], associatedData: aad))
        XCTAssertNil(key.open([1, 2, 3], associatedData: aad))
        XCTAssertNil(AESGCMKey([UInt8](repeating: 7, count: 16)))
    }
}
