import CSupport
import MCPCore
import XCTest

final class JSONViewTests: XCTestCase {
    private func view(_ s: String) throws -> JSONView { try JSONView(FrameBytes(Array(s.utf8))) }

    func testMembersAreFoundWithoutDecodingAndTheFirstDuplicateWins() throws {
        let v = try view(#" {"text":"hi","n":-2.5e1,"ok":true,"none":null,"list":[1,{"a":2}],"o":{"x":"y"},"text":"late"} "#)
        XCTAssertEqual(v.kind, .object)
        XCTAssertEqual(v["text"]?.string, "hi", "the first of duplicate keys, as JSONValue.parse takes it")
        XCTAssertEqual(v["n"]?.number, -25)
        XCTAssertEqual(v["ok"]?.bool, true)
        XCTAssertEqual(v["none"]?.kind, .null)
        XCTAssertEqual(v["list"]?.kind, .array)
        XCTAssertEqual(v["list"]?.decoded, try JSONValue.parse(Array(#"[1,{"a":2}]"#.utf8)))
        XCTAssertEqual(v["o"]?["x"]?.string, "y", "a nested object gets its own member table")
        XCTAssertNil(v["missing"])
        XCTAssertNil(v["text"]?["x"], "a string has no members")
        XCTAssertEqual(v.keys, ["text", "n", "ok", "none", "list", "o"])
        XCTAssertEqual(v.decoded, try JSONValue.parse(Array(v.bytes.withUnsafeBytes { Array($0) })))
    }

    func testEscapedKeysAndStringsDecode() throws {
        let v = try view(#"{"t\u0065xt":"a\"b\\c\u00e9\n","plain":"d\u00e9j\u00e0"}"#)
        XCTAssertEqual(v["text"]?.string, "a\"b\\c\u{e9}\n")
        XCTAssertEqual(v["plain"]?.string, "d\u{e9}j\u{e0}")
        XCTAssertEqual(v["text"]?.isPlainString, false)
        let copied = v["text"]?.withStringBytes { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(copied, "a\"b\\c\u{e9}\n")
        // The literal, as it lies: quotes and escapes included, valid JSON to copy elsewhere.
        XCTAssertEqual(v["text"]?.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }, #""a\"b\\c\u00e9\n""#)
    }

    func testPlainStringsAreLentWhereTheyLie() throws {
        let bytes = FrameBytes(Array(#"{"text":"h\u00e9llo wörld"}"#.utf8))
        let v = try JSONView.object(bytes)
        let w = try JSONView.object(FrameBytes(Array(#"{"text":"héllo wörld"}"#.utf8)))
        XCTAssertTrue(w["text"]!.isPlainString)
        let inside = w["text"]!.withStringBytes { s in
            w.bytes.withUnsafeBytes { all in s.baseAddress! >= all.baseAddress! && s.baseAddress! + s.count <= all.baseAddress! + all.count }
        }
        XCTAssertEqual(inside, true, "no copy: the frame's own bytes")
        XCTAssertEqual(w["text"]!.withStringBytes { String(decoding: $0, as: UTF8.self) }, "héllo wörld")
        XCTAssertEqual(v["text"]!.string, "héllo wörld")
    }

    func testInvalidJSONAndNonObjectsAreRefused() {
        for bad in [#"{"a":"#, #"{"a":1,}"#, "", "   ", "{\"a\":\"\u{1}\"}", #"{"a":1} x"#] {
            XCTAssertThrowsError(try view(bad), bad) { XCTAssertEqual($0 as? JSONView.Failure, .invalidJSON) }
        }
        XCTAssertThrowsError(try JSONView.object(FrameBytes(Array("[1,2]".utf8)))) {
            XCTAssertEqual($0 as? JSONView.Failure, .notAnObject)
        }
        XCTAssertEqual(try view(#" "text" "#).string, "text")
        XCTAssertEqual(try view("12").number, 12)
    }

    func testManyMembersAreAllRecorded() throws {
        // Past JSONView.pairwiseLimit duplicates are found by hashing: the first still wins.
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let v = try view("{\(members),\"k5\":\"late\"}")
        XCTAssertEqual(v.memberCount, 40)
        XCTAssertEqual(v["k39"]?.number, 39)
        XCTAssertEqual(v["k5"]?.number, 5)
        var seen: [String: JSONView.Kind] = [:]
        v.forEachMember { k, m in XCTAssertNil(seen[k], "each key once"); seen[k] = m.kind }
        XCTAssertEqual(seen["k5"], .number)
    }

    /// A view keeps its bytes alive: the only other reference gone, the view still reads them.
    func testAViewOutlivesEveryOtherReferenceToItsBytes() throws {
        var text: JSONView?
        do {
            let bytes = FrameBytes(Array(#"{"text":"still here"}"#.utf8))
            text = try JSONView.object(bytes)["text"]
        }
        // Churn the allocator: freed memory would be reused by these.
        var churn: [[UInt8]] = []
        for i in 0..<1000 { churn.append([UInt8](repeating: UInt8(i & 0x7F), count: 64)) }
        XCTAssertEqual(text?.string, "still here")
        XCTAssertEqual(churn.count, 1000)
    }
}
