import MCPCore
import XCTest

final class CanonicalJSONTests: XCTestCase {
    private func canon(_ s: String) -> String? { CanonicalJSON.canonical(Array(s.utf8)).map { String(decoding: $0, as: UTF8.self) } }

    func testMemberOrderAndSpacingDoNotMatter() {
        XCTAssertEqual(canon(#"{"a":1,"b":2}"#), #"{"a":1,"b":2}"#)
        XCTAssertEqual(canon(#" { "b" : 2 , "a" : 1.0 } "#), #"{"a":1,"b":2}"#)
        XCTAssertEqual(canon(#"{"z":{"y":[3,{"d":1,"c":2}],"x":null},"a":true}"#),
                       #"{"a":true,"z":{"x":null,"y":[3,{"c":2,"d":1}]}}"#)
        // Sorted by UTF-8 bytes: "B" < "a" < "é".
        XCTAssertEqual(canon(#"{"é":1,"a":2,"B":3}"#), #"{"B":3,"a":2,"é":1}"#)
    }

    func testNumbersAreExactDecimals() {
        for same in ["1", "1.0", "1e0", "10e-1", "0.1e1", "1.000E+0"] { XCTAssertEqual(canon(same), "1", same) }
        XCTAssertEqual(canon("100"), "1e2")
        XCTAssertEqual(canon("-0.050"), "-5e-2")
        XCTAssertEqual(canon("-0"), "0")
        XCTAssertEqual(canon("0.000"), "0")
        // Past a double's precision, different numbers stay different.
        XCTAssertNotEqual(canon("9007199254740993"), canon("9007199254740992"))
        XCTAssertEqual(canon("123456789012345678901234567890"), "12345678901234567890123456789e1")
    }

    func testStringsAreUnescapedAndQuotedOneWay() {
        XCTAssertEqual(canon(#""\u0061\/b\u00e9""#), #""a/bé""#)
        XCTAssertEqual(canon(#"["\n","\u000a"]"#), #"["\n","\n"]"#)
        XCTAssertEqual(canon(#"{"\u0061":1}"#), canon(#"{"a":1}"#))
        // Escaped and plain names sort together by their unescaped bytes.
        XCTAssertEqual(canon(#"{"b":1,"\u0061":2,"\n":3}"#), #"{"\n":3,"a":2,"b":1}"#)
        XCTAssertEqual(canon(#"{"a\"b":1,"a":2}"#), #"{"a":2,"a\"b":1}"#)
        XCTAssertEqual(canon(#"["\u007f","é"]"#), "[\"\u{7f}\",\"é\"]")
    }

    func testAppendsAfterWhatIsThere() {
        var out = Array("prefix:".utf8)
        XCTAssertTrue(Array(#"{"b":[10,2],"a":{}}"#.utf8).withUnsafeBytes { CanonicalJSON.append($0, to: &out) })
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"prefix:{"a":{},"b":[1e1,2]}"#)
        // Sorting inside a nested object keeps the outer text in place.
        XCTAssertEqual(canon(#"[1,{"z":1,"y":{"b":2,"a":1}},3]"#), #"[1,{"y":{"a":1,"b":2},"z":1},3]"#)
    }

    func testRefusals() {
        for bad in [#"{"a":1,"a":2}"#, #"{"a":1,"\u0061":1}"#, "{", "[1,]", "01", "1.", "+1", "1e", "tru", #""\x""#,
                    #"{"a" 1}"#, "1 2", "1e1000000000", #""\ud800""#] {
            XCTAssertNil(canon(bad), bad)
        }
        XCTAssertNil(canon(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)))
        XCTAssertNotNil(canon(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
    }

    /// Random texts from JSON's tokens, against the JSON parser: a canonical text exists only for
    /// valid JSON, is itself valid JSON with the same value (numbers compared as doubles), and is
    /// its own canonical text.
    func testAgainstTheParserOnRandomTexts() {
        let tokens = ["{", "}", "[", "]", ",", ":", " ", "\"a\"", "\"b\"", "\"\\u0061\"", "\"\\n\"", "\"é\"", "0", "1",
                      "-", ".", "e", "10", "1.50", "-0", "2E+3", "true", "false", "null", "\"", "\\", "x"]
        var rng = SplitMix(seed: 16)
        var valid = 0
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) + 1 { text += tokens[Int(rng.next() % UInt64(tokens.count))] }
            let bytes = Array(text.utf8)
            let parsed = try? JSONValue.parse(bytes)
            guard let c = CanonicalJSON.canonical(bytes) else { continue }
            valid += 1
            XCTAssertNotNil(parsed, "canonical text for invalid JSON: \(text)")
            guard let again = try? JSONValue.parse(c) else { return XCTFail("not JSON: \(text) -> \(c)") }
            XCTAssertEqual(again, parsed, text)
            XCTAssertEqual(CanonicalJSON.canonical(c), c, "not a fixed point: \(text)")
        }
        XCTAssertGreaterThan(valid, 500) // about 1,000 of the 20,000 are JSON
    }
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
