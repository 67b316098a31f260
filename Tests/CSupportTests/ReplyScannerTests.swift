import CSupport
import XCTest

/// The scans the front decides on besides the envelope: the top-level members of executor
/// replies (sy_json_scan_reply), a batch's members (sy_json_array_elements), and the `_meta`
/// members the envelope scan records.
final class ReplyScannerTests: XCTestCase {
    func reply(_ s: String) -> (Int32, sy_reply_members_t) {
        var r = sy_reply_members_t()
        let b = Array(s.utf8)
        let rc = b.withUnsafeBufferPointer { sy_json_scan_reply($0.baseAddress!, $0.count, &r) }
        return (rc, r)
    }

    func text(_ s: String, _ v: sy_json_value_t) -> String? {
        guard v.kind != Int32(SY_JSON_ABSENT) else { return nil }
        let b = Array(s.utf8)
        return String(decoding: b[Int(v.span.off)..<Int(v.span.off + v.span.len)], as: UTF8.self)
    }

    func testTopLevelMembersOnly() {
        let s = #"{"content":[{"type":"text","text":"\"isError\":true","isError":true}],"#
            + #""structuredContent":{"isError":true,"resultType":"x","code":1},"isError":false}"#
        let (rc, r) = reply(s)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(text(s, r.is_error), "false")
        XCTAssertEqual(text(s, r.structured), #"{"isError":true,"resultType":"x","code":1}"#)
        XCTAssertNil(text(s, r.result_type), "a nested resultType is not the result's")
        XCTAssertNil(text(s, r.code))
    }

    func testFirstOccurrenceWinsAndEscapedKeys() {
        let s = #"{"isError":true,"isError":false,"result\u0054ype":"input_required","code":-32021}"#
        let (rc, r) = reply(s)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(text(s, r.is_error), "true")
        XCTAssertEqual(text(s, r.result_type), "input_required")
        XCTAssertEqual(text(s, r.code), "-32021")
    }

    func testEscapedQuotesAndBackslashesInSkippedStrings() {
        let s = #"{"a":"x\\","b":["\\\"]",{"c":"}"}],"code":7}"#
        let (rc, r) = reply(s)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(text(s, r.code), "7")
    }

    func testBrokenStructureIsAnError() {
        for s in [#"{"a":[1,2}"#, #"{"a":"open"#, #"{"a" 1}"#, "", #"{"a":1"#] {
            XCTAssertNotEqual(reply(s).0, 0, s)
        }
        XCTAssertEqual(reply("{}").0, 0)
    }

    /// Whatever the executor wrote, only valid JSON in valid UTF-8 passes: the front checks.
    func testInvalidUTF8AndGarbageAreErrors() {
        let bad: [[UInt8]] = [Array(#"{"content":[{"text":""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8),
                              Array(#"{"a":"\#u{01}"}"#.utf8), Array(#"{"a":1} x"#.utf8), Array(#"{"a":01}"#.utf8),
                              Array(#"{"a":tru}"#.utf8), [0xEF, 0xBB, 0xBF] + Array("{}".utf8)]
        for b in bad {
            var r = sy_reply_members_t()
            let rc = b.withUnsafeBufferPointer { sy_json_scan_reply($0.baseAddress!, $0.count, &r) }
            XCTAssertNotEqual(rc, 0, "\(b)")
        }
        XCTAssertEqual(reply(#"{"t":"héllo ☃ 😀"} "#).0, 0)
        XCTAssertEqual(reply(#"[1,"x"]"#).0, 0, "a reply that is not an object is still valid JSON")
    }

    func elements(_ s: String, max: Int = 8) -> (Int32, [String]) {
        var spans = [sy_span_t](repeating: sy_span_t(), count: max)
        let b = Array(s.utf8)
        let n = b.withUnsafeBufferPointer { p in
            spans.withUnsafeMutableBufferPointer { sy_json_array_elements(p.baseAddress!, p.count, $0.baseAddress!, max) }
        }
        let parts = (0..<Swift.max(0, Int(n))).map {
            String(decoding: b[Int(spans[$0].off)..<Int(spans[$0].off + spans[$0].len)], as: UTF8.self)
        }
        return (n, parts)
    }

    func testBatchMembers() {
        XCTAssertEqual(elements(#" [ {"a":[1,"]"]} , 5,"x" ] "#).1, [#"{"a":[1,"]"]}"#, "5", #""x""#])
        XCTAssertEqual(elements("[]").0, 0)
        XCTAssertEqual(elements("[1,2,3]", max: 2).0, -Int32(E2BIG))
        for bad in ["[1,]", "{}", "[1", "[1] x", "[tru]"] { XCTAssertLessThan(elements(bad).0, 0, bad) }
    }

    func testEnvelopeRecordsMetaVersionTraceparentAndURI() {
        let s = #"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","#
            + #""_meta":{"traceparent":"00-x","io.modelcontextprotocol/protocolVersion":"2026-07-28","#
            + #""x":{"io.modelcontextprotocol/protocolVersion":"nested"}}}}"#
        var env = sy_envelope_t()
        let b = Array(s.utf8)
        XCTAssertEqual(b.withUnsafeBufferPointer { sy_json_scan_envelope($0.baseAddress!, $0.count, &env) }, 0)
        XCTAssertEqual(text(s, env.meta_version), "2026-07-28")
        XCTAssertEqual(text(s, env.traceparent), "00-x")
        XCTAssertEqual(text(s, env.uri), "file:///a")
    }
}
