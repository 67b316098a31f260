import MCPCore
import XCTest

/// FNV-1a 64 against published values, and seeding (hashing in parts equals hashing the whole).
final class FNV1aTests: XCTestCase {
    func testKnownValues() {
        XCTAssertEqual(FNV1a.hash(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a.hash("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a.hash("foobar"), 0x8594_4171_f739_67e8)
    }

    func testSeedContinuesAHash() {
        let whole = FNV1a.hash("session|42")
        XCTAssertEqual(FNV1a.hash(Array("|42".utf8), from: FNV1a.hash("session")), whole)
        XCTAssertEqual(FNV1a.hash("session|42".utf8), whole, "through the Sequence path")
    }
}
