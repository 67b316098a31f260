import FoundationEssentials
@testable import MCPCore
import XCTest

/// Our JSON parser against Foundation's decoder: same values for valid documents, and refusal
/// of what RFC 8259 refuses.
final class JSONParserTests: XCTestCase {
    /// A JSONValue read through Codable, the reference the parser is checked against.
    struct Reference: Decodable {
        var value: JSONValue

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = .null }
            else if let b = try? c.decode(Bool.self) { value = .bool(b) }
            else if let n = try? c.decode(Double.self) { value = .number(n) }
            else if let s = try? c.decode(String.self) { value = .string(s) }
            else if let a = try? c.decode([Reference].self) { value = .array(a.map(\.value)) }
            else { value = .object(try c.decode([String: Reference].self).mapValues(\.value)) }
        }
    }

    func foundation(_ s: String) -> JSONValue? { try? JSONDecoder().decode(Reference.self, from: Data(s.utf8)).value }
    func ours(_ s: String) -> JSONValue? { try? JSONValue.parse(Array(s.utf8)) }

    func testAgreesWithFoundationOnValidDocuments() {
        let docs = [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, #"[]"#, #"{}"#, #" [ 1 , 2 ] "#, #""plain""#,
            #"{"text":"h\u00e9llo \ud83d\ude00 \n\t\"q\" \\ \/"}"#, #"-0.5e+10"#, #"1E-3"#, #"123456789012"#,
            #"{"nested":[[[[{"x":[1,{"y":null}]}]]]]}"#, #"{"unicode":"日本語","emoji":"🙂"}"#, #"0"#, #"-0"#,
            #"{"arguments":{"text":"hello","n":42,"f":3.25,"list":["a","b"]}}"#,
        ]
        for d in docs {
            XCTAssertNotNil(ours(d), d)
            XCTAssertEqual(ours(d), foundation(d), d)
        }
    }

    func testRefusesWhatJSONRefuses() {
        let bad = ["", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul",
                   "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\u0041\"", "\"a\u{01}b\"", "[1 2]", "{\"a\" 1}",
                   "NaN", "Infinity", "\"unterminated", "{} {}",
                   String(repeating: "[", count: 200) + String(repeating: "]", count: 200)]
        for s in bad { XCTAssertNil(ours(s), s.debugDescription) }
        XCTAssertNil(try? JSONValue.parse([0x22, 0xC0, 0xAF, 0x22]), "invalid UTF-8")
    }

    func testFirstDuplicateKeyWins() {
        XCTAssertEqual(ours(#"{"a":1,"a":2}"#), .object(["a": .number(1)]))
    }
}
