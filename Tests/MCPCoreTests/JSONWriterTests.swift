@testable import MCPCore
import XCTest

/// The byte writer and the member scanner that keep the executor's hot path off Strings.
final class JSONWriterTests: XCTestCase {
    func testAppendQuotedMatchesQuote() {
        let strings = ["", "plain", "with \"quotes\" and \\ backslash", "line\nbreak\r\ttab",
                       "\u{01}\u{1f}\u{08}\u{0c}", "日本語 🙂", "mixed \u{7f} del",
                       String(repeating: "x", count: 5000) + "\"", "/slash/"]
        for s in strings {
            var out: [UInt8] = []
            JSONValue.appendQuoted(s, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), JSONValue.quote(s), s.debugDescription)
            XCTAssertEqual(try JSONValue.parse(out), .string(s), "round trip of \(s.debugDescription)")
        }
    }

    func testCompactBytesSortKeysAndRoundTrip() throws {
        let v = try JSONValue.parse(Array(#"{"b":1,"a":{"d":[true,null,"x\ny"],"c":-2.5},"e":{"only":{}}}"#.utf8))
        XCTAssertEqual(String(decoding: v.compactJSONBytes(), as: UTF8.self),
                       #"{"a":{"c":-2.5,"d":[true,null,"x\ny"]},"b":1,"e":{"only":{}}}"#)
        XCTAssertEqual(v.compactJSON(), String(decoding: v.compactJSONBytes(), as: UTF8.self))
        XCTAssertEqual(try JSONValue.parse(v.compactJSONBytes()), v)
    }

    func members(_ s: String) throws -> [(String, String)] {
        let bytes = Array(s.utf8)
        var out: [(String, String)] = []
        try bytes.withUnsafeBytes { b in
            try JSONValue.forEachMember(b) { k, r in out.append((k, String(decoding: b[r], as: UTF8.self))) }
        }
        return out
    }

    func testForEachMemberGivesRawValues() throws {
        let m = try members(#" {"a" : {"x":[1,2]}, "b":"s\"t", "c":null ,"d":-1e3} "#)
        XCTAssertEqual(m.map(\.0), ["a", "b", "c", "d"])
        XCTAssertEqual(m.map(\.1), [#"{"x":[1,2]}"#, #""s\"t""#, "null", "-1e3"])
        XCTAssertEqual(try members("{}").count, 0)
    }

    func testForEachMemberChecksWhatItSkips() {
        let bad = ["[1]", "{", #"{"a":[1,]}"#, #"{"a":{"b" 1}}"#, #"{"a":"\x"}"#, #"{"a":01}"#, #"{"a":tru}"#,
                   #"{"a":1} x"#, #"{"a":"\ud800"}"#, #"{"a":1,}"#,
                   "{\"a\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"]
        for s in bad { XCTAssertThrowsError(try members(s), s) }
        let invalidUTF8: [UInt8] = [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D]
        XCTAssertThrowsError(try invalidUTF8.withUnsafeBytes { b in
            try JSONValue.forEachMember(b) { _, _ in }
        }, "invalid UTF-8 in a skipped string")
    }
}
