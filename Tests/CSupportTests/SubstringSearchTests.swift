import CSupport
import XCTest

/// sy_memmem gives the first match a naive search gives, for every length around the 16-byte
/// step of its vector loop and for matches that straddle a step.
final class SubstringSearchTests: XCTestCase {
    func naive(_ h: [UInt8], _ n: [UInt8]) -> Int? {
        if n.isEmpty { return 0 }
        guard n.count <= h.count else { return nil }
        for i in 0...(h.count - n.count) where Array(h[i..<i + n.count]) == n { return i }
        return nil
    }

    func found(_ h: [UInt8], _ n: [UInt8]) -> Int? {
        h.withUnsafeBytes { hb in
            n.withUnsafeBytes { nb -> Int? in
                guard let p = sy_memmem(hb.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, hb.count,
                                        nb.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, nb.count) else {
                    return nil
                }
                return hb.baseAddress.map { p - $0 } ?? 0
            }
        }
    }

    func testMatchesANaiveSearch() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab\"".utf8) // small, so matches and near-matches are frequent
        for _ in 0..<5_000 {
            let h = (0..<Int.random(in: 0...70, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let n = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            XCTAssertEqual(found(h, n), naive(h, n),
                           "\(String(decoding: h, as: UTF8.self)) / \(String(decoding: n, as: UTF8.self))")
        }
    }

    func testTheNeedlesTheServerLooksFor() {
        let json = Array(#"{"content":[{"text":"x","type":"text"}],"isError":true}"#.utf8)
        XCTAssertEqual(found(json, Array(#""isError":true"#.utf8)), 40)
        XCTAssertNil(found(json, Array(#""isError":false"#.utf8)))
        let long = Array(String(repeating: "y", count: 1000).utf8)
            + Array("io.modelcontextprotocol/protocolVersion".utf8)
        XCTAssertEqual(found(long, Array("io.modelcontextprotocol/protocolVersion".utf8)), 1000)
        XCTAssertNil(found(Array(long.dropLast()), Array("io.modelcontextprotocol/protocolVersion".utf8)))
    }
}
