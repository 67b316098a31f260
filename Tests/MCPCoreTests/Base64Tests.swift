import MCPCore
import XCTest

/// Both alphabets of the one base64 codec, and what each decoder refuses.
final class Base64Tests: XCTestCase {
    /// RFC 4648 section 10.
    let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                   ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]

    func testStandardVectors() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
        }
    }

    func testURLVectorsHaveNoPadding() {
        for (plain, encoded) in vectors {
            let unpadded = String(encoded.prefix { $0 != "=" })
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), unpadded)
            XCTAssertEqual(Base64URL.decode(unpadded), Array(plain.utf8), unpadded)
        }
    }

    func testRoundTripEveryLengthAndByte() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(($0 * 37 + n) & 0xFF) }
            let url = Base64URL.encode(bytes), standard = Base64.encode(bytes)
            XCTAssertFalse(url.contains("=") || url.contains("+") || url.contains("/"))
            XCTAssertEqual(standard.count % 4, 0)
            XCTAssertEqual(Base64URL.decode(url), bytes)
            XCTAssertEqual(Base64.decode(standard), bytes)
        }
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(Base64URL.decode(Base64URL.encode(all)), all)
        XCTAssertEqual(Base64.decode(Base64.encode(all)), all)
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64.encode([0xFB, 0xFF]), "+/8=")
    }

    func testURLDecodingIsStrictAndCanonical() {
        XCTAssertNil(Base64URL.decode("AB"), "stray bits are not canonical")
        XCTAssertNil(Base64URL.decode("AAB"), "stray bits are not canonical")
        XCTAssertEqual(Base64URL.decode("AA"), [0])
        XCTAssertEqual(Base64URL.decode("AAA"), [0, 0])
        XCTAssertNil(Base64URL.decode("A"), "no encoding is 1 mod 4 characters long")
        XCTAssertNil(Base64URL.decode("a+b/"), "standard alphabet")
        XCTAssertNil(Base64URL.decode("Zg=="), "padding")
        XCTAssertNil(Base64URL.decode("Zm 9v"))
        XCTAssertNil(Base64URL.decode("Zm9\u{e9}"))
    }

    func testStandardDecodingNeedsPadding() {
        XCTAssertNil(Base64.decode("Zg"), "not a multiple of 4")
        XCTAssertNil(Base64.decode("abc"), "not a multiple of 4")
        XCTAssertNil(Base64.decode("ab-_"), "URL alphabet")
        XCTAssertNil(Base64.decode("Zg=a"), "padding before the end")
        XCTAssertNil(Base64.decode("Zg==Zm9v"), "padding before the end")
        XCTAssertNil(Base64.decode("Z==="), "three padding characters")
        XCTAssertNil(Base64.decode("===="))
        XCTAssertEqual(Base64.decode("Zh=="), Array("f".utf8), "stray low bits are ignored")
    }
}
