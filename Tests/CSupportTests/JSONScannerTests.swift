import CSupport
import XCTest

final class JSONScannerTests: XCTestCase {
    func scan(_ s: String) -> (Int32, sy_envelope_t) {
        var env = sy_envelope_t()
        let b = Array(s.utf8)
        let rc = b.withUnsafeBufferPointer { sy_json_scan_envelope($0.baseAddress!, $0.count, &env) }
        return (rc, env)
    }

    func text(_ s: String, _ v: sy_json_value_t) -> String {
        let b = Array(s.utf8)
        return String(decoding: b[Int(v.span.off)..<Int(v.span.off + v.span.len)], as: UTF8.self)
    }

    func testFindsEnvelopeMembers() {
        let s = #"{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"_meta":{"progressToken":"p1"},"#
            + #""name":"echo","arguments":{"text":"a\"b","n":[1,{"name":"inner"}]}}}"#
        let (rc, e) = scan(s)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(Int(e.top_kind), SY_JSON_OBJECT)
        XCTAssertEqual(text(s, e.jsonrpc), "2.0")
        XCTAssertEqual(Int(e.id.kind), SY_JSON_NUMBER)
        XCTAssertEqual(text(s, e.id), "17")
        XCTAssertEqual(text(s, e.method), "tools/call")
        XCTAssertEqual(text(s, e.name), "echo", "params.name, not a nested name")
        XCTAssertEqual(Int(e.arguments.kind), SY_JSON_OBJECT)
        XCTAssertEqual(text(s, e.arguments), #"{"text":"a\"b","n":[1,{"name":"inner"}]}"#)
        XCTAssertEqual(text(s, e.progress_token), "p1")
        XCTAssertEqual(Int(e.result.kind), SY_JSON_ABSENT)
    }

    func testFirstDuplicateWinsAndEscapedKeysMatch() {
        let s = #"{"\u006dethod":"a","method":"b","id":"x"}"#
        let (rc, e) = scan(s)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(text(s, e.method), "a")
        XCTAssertEqual(Int(e.id.kind), SY_JSON_STRING)
        XCTAssertEqual(text(s, e.id), "x")
    }

    func testRejectsMalformedJSON() {
        let bad = ["", " ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "01", "1.", "-", "1e", "tru", "nul",
                   "\"unterminated", "\"bad \\x escape\"", "\"ctl \u{01}\"", "{\"a\":1}}", "{} {}", "\"\\u12G4\"",
                   "{'a':1}", "NaN", "[1 2]"]
        for s in bad { XCTAssertNotEqual(scan(s).0, 0, s.debugDescription) }
        XCTAssertEqual(scan("[\"ok\"]").0, 0)
        XCTAssertEqual(scan(" -0.5e+10 ").0, 0)
    }

    func testRejectsInvalidUTF8AndExcessiveDepth() {
        for bytes: [UInt8] in [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                               [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            var env = sy_envelope_t()
            let rc = bytes.withUnsafeBufferPointer { sy_json_scan_envelope($0.baseAddress!, $0.count, &env) }
            XCTAssertEqual(Int(rc), Int(SY_EJSON_UTF8))
        }
        XCTAssertEqual(scan("\"h\u{e9}llo \u{1F600}\"").0, 0)
        XCTAssertEqual(Int(scan(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)).0),
                       Int(SY_EJSON_DEPTH))
        XCTAssertEqual(scan(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).0, 0)
    }

    /// Fed one byte at a time: no proper prefix of an object is a whole JSON text, and the
    /// scanner never reads past what it was given (ASan would catch it in the fuzz target).
    func testEveryPrefixOfAnObjectIsIncompleteJSON() {
        let s = Array((#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"name":"n","# +
                       #""arguments":{"k":[true,false,null,1.5]}}}"#).utf8)
        for n in 0..<s.count {
            let rc = s.withUnsafeBufferPointer { sy_json_validate($0.baseAddress!, n) }
            XCTAssertNotEqual(rc, 0, "prefix of \(n) bytes")
        }
        XCTAssertEqual(s.withUnsafeBufferPointer { sy_json_validate($0.baseAddress!, s.count) }, 0)
    }
}

/// The block-at-a-time scanner under every JSON string scan (16-byte SSE2 blocks, then 8-byte
/// words, then bytes) agrees with a byte loop at every length and position of the first stop.
final class PlainRunTests: XCTestCase {
    func naive(_ b: [UInt8]) -> Int {
        b.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 >= 0x80 } ?? b.count
    }

    func testAgreesWithAByteLoop() {
        var rng = SystemRandomNumberGenerator()
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x20, 0x21, 0x7F, 0x80, 0xFF, 0x5B, 0x5D, 0x23]
        for trial in 0..<4000 {
            let n = Int.random(in: 0...70, using: &rng)
            var b = (0..<n).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
                .map { $0 == 0x22 || $0 == 0x5C ? 0x41 : $0 }
            if n > 0, trial % 4 != 0 { b[Int.random(in: 0..<n, using: &rng)] = specials.randomElement(using: &rng)! }
            let got = b.withUnsafeBufferPointer { sy_json_plain_run($0.baseAddress, $0.count) }
            XCTAssertEqual(got, naive(b), "\(b)")
        }
    }
}
