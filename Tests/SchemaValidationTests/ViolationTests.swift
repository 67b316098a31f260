import MCPCore
import SchemaValidation
import XCTest

/// What a failure says: the instance path (a JSON pointer), the keyword, a short message.
final class ViolationTests: XCTestCase {
    func schema(_ json: String) throws -> CompiledSchema { try CompiledSchema(json: Array(json.utf8)) }

    func violation(_ schemaJSON: String, _ instance: String) throws -> SchemaViolation? {
        try schema(schemaJSON).validate(json: Array(instance.utf8))
    }

    let tool = """
        {"type":"object","properties":{
          "name":{"type":"string","minLength":1,"pattern":"^[a-z]+$"},
          "count":{"type":"integer","minimum":1,"maximum":10},
          "mode":{"enum":["fast","slow"]},
          "tags":{"type":"array","items":{"type":"string","maxLength":3},"maxItems":2},
          "nested":{"type":"object","properties":{"a/b":{"type":"boolean"}},"additionalProperties":false}},
         "required":["name"],"additionalProperties":false}
        """

    func testValidArgumentsPass() throws {
        XCTAssertNil(try violation(tool, #"{"name":"abc","count":3,"mode":"fast","tags":["x"],"nested":{"a/b":true}}"#))
        XCTAssertNil(try violation(tool, #"  { "name" : "abc" }  "#))
        XCTAssertNil(try violation(tool, #"{"count":3.0,"name":"z"}"#), "3.0 is an integer")
    }

    func testPathKeywordAndMessage() throws {
        let cases: [(String, String, String)] = [
            (#"{}"#, "", "required"),
            (#"{"name":"ABC"}"#, "/name", "pattern"),
            (#"{"name":""}"#, "/name", "minLength"),
            (#"{"name":"a","count":"3"}"#, "/count", "type"),
            (#"{"name":"a","count":2.5}"#, "/count", "type"),
            (#"{"name":"a","count":11}"#, "/count", "maximum"),
            (#"{"name":"a","mode":"medium"}"#, "/mode", "enum"),
            (#"{"name":"a","tags":["abcd"]}"#, "/tags/0", "maxLength"),
            (#"{"name":"a","tags":["a","b","c"]}"#, "/tags", "maxItems"),
            (#"{"name":"a","nested":{"a/b":1}}"#, "/nested/a~1b", "type"),
            (#"{"name":"a","nested":{"x":1}}"#, "/nested/x", "additionalProperties"),
            (#"{"name":"a","extra":true}"#, "/extra", "additionalProperties"),
            (#"[]"#, "", "type"),
        ]
        for (instance, path, keyword) in cases {
            let v = try XCTUnwrap(try violation(tool, instance), instance)
            XCTAssertEqual(v.instancePath, path, instance)
            XCTAssertEqual(v.keyword, keyword, instance)
        }
        let v = try XCTUnwrap(try violation(tool, #"{"name":"a","count":"3"}"#))
        XCTAssertEqual(v.description, "/count: type: expected integer, got string")
        XCTAssertEqual(try violation(tool, "{}")?.description, #"(root): required: missing required property "name""#)
    }

    func testEscapedNamesAndNonASCII() throws {
        let s = #"{"properties":{"é\"q":{"type":"string","maxLength":2}},"required":["é\"q"]}"#
        XCTAssertNil(try violation(s, #"{"\u00e9\"q":"💩💩"}"#), "two code points")
        XCTAssertEqual(try violation(s, #"{"é\"q":"💩💩💩"}"#)?.keyword, "maxLength")
        XCTAssertEqual(try violation(s, #"{"e":1}"#)?.keyword, "required")
    }

    func testComposition() throws {
        let s = #"{"anyOf":[{"type":"string"},{"type":"number"}],"not":{"const":0}}"#
        XCTAssertNil(try violation(s, "1"))
        XCTAssertEqual(try violation(s, "null")?.keyword, "anyOf")
        XCTAssertEqual(try violation(s, "0")?.keyword, "not")
        XCTAssertEqual(try violation(s, "null")?.message,
                       "matches none of the 2 alternatives (closest: type: expected string, got null)")
        let nested = #"{"anyOf":[{"const":"never"},{"type":"object","properties":{"days":{"minimum":1}}}]}"#
        XCTAssertEqual(try violation(nested, #"{"days":0}"#)?.message,
                       "matches none of the 2 alternatives (closest: /days: minimum: 0 is less than 1)")
        let one = #"{"oneOf":[{"minimum":0},{"maximum":10}]}"#
        XCTAssertEqual(try violation(one, "5")?.keyword, "oneOf")
        XCTAssertNil(try violation(one, "11"))
        let cond = #"{"if":{"properties":{"k":{"const":"n"}}},"then":{"required":["n"]},"else":{"required":["s"]}}"#
        XCTAssertEqual(try violation(cond, #"{"k":"n"}"#)?.keyword, "required")
        XCTAssertNil(try violation(cond, #"{"k":"x","s":1}"#))
    }

    func testRefsWithinTheDocument() throws {
        let s = """
            {"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"},"v":{"$ref":"#int"}}},
                      "i":{"$anchor":"int","type":"integer"}},
             "$ref":"#/$defs/node"}
            """
        XCTAssertNil(try violation(s, #"{"next":{"next":{"v":1}}}"#))
        let v = try XCTUnwrap(try violation(s, #"{"next":{"next":{"v":"x"}}}"#))
        XCTAssertEqual(v.instancePath, "/next/next/v")
        XCTAssertEqual(v.keyword, "type")
    }

    func testMalformedInstanceIsAViolationNotACrash() throws {
        let s = try schema(tool)
        for bad in ["", " ", "{", #"{"name""#, #"{"name":"a"#, "[1,", #"{"name":"a",}"#, "\"", "{\"a\":[}"] {
            XCTAssertNotNil(s.validate(json: Array(bad.utf8)), bad)
        }
    }
}

/// Invalid schemas are refused with the place and the reason, never a crash.
final class SchemaCompileTests: XCTestCase {
    func error(_ json: String) -> SchemaError? {
        do { _ = try CompiledSchema(json: Array(json.utf8)); return nil } catch { return error }
    }

    func testInvalidSchemas() {
        let cases: [(String, String)] = [
            (#"{"type":"text"}"#, "/type"),
            (#"{"type":7}"#, "/type"),
            (#"{"properties":{"a":3}}"#, "/properties/a"),
            (#"{"required":"a"}"#, "/required"),
            (#"{"minLength":-1}"#, "/minLength"),
            (#"{"maxItems":1.5}"#, "/maxItems"),
            (#"{"multipleOf":0}"#, "/multipleOf"),
            (#"{"pattern":"("}"#, "/pattern"),
            (#"{"patternProperties":{"[":{}}}"#, "/patternProperties/["),
            (#"{"anyOf":[]}"#, "/anyOf"),
            (#"{"items":[{}]}"#, "/items"),
            (#"{"enum":3}"#, "/enum"),
            (##"{"$ref":"#/$defs/missing"}"##, "/$ref"),
            (#"{"$ref":"https://example.com/other.json"}"#, "/$ref"),
            (##"{"$ref":"#nowhere"}"##, "/$ref"),
            (#"{"unevaluatedProperties":false}"#, "/unevaluatedProperties"),
            (##"{"$dynamicRef":"#x"}"##, "/$dynamicRef"),
            (##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}"##, ""),
            (##"{"$ref":"#"}"##, ""),
            ("3", ""),
            ("not json", ""),
        ]
        for (schema, path) in cases {
            guard let e = error(schema) else { XCTFail("accepted: \(schema)"); continue }
            if !path.isEmpty { XCTAssertTrue(e.schemaPath.hasPrefix(path), "\(schema): \(e)") }
            XCTAssertFalse(e.message.isEmpty)
        }
    }

    func testAnnotationsAndUnknownKeywordsAreIgnored() throws {
        let json = #"{"format":"email","title":"t","x-vendor":{"type":"integer"},"default":1}"#
        let s = try CompiledSchema(json: Array(json.utf8))
        XCTAssertNil(s.validate(json: Array(#""not an email""#.utf8)))
    }

    func testCacheCompilesIdenticalSchemasOnce() throws {
        var cache = SchemaCache()
        let a = try JSONValue.parse(Array(#"{"type":"object","properties":{"x":{"type":"string"}}}"#.utf8))
        let b = try JSONValue.parse(Array(#"{ "properties" : {"x":{"type":"string"}}, "type":"object" }"#.utf8))
        let first = try cache.schema(a).get()
        let second = try cache.schema(b).get()
        XCTAssertTrue(first === second)
        XCTAssertEqual(cache.compilations, 1)
        var next = SchemaCache()
        XCTAssertTrue(try next.schema(a, reusing: cache).get() === first)
        XCTAssertEqual(next.compilations, 0)
    }

    /// Found by the schema fuzz target: an array whose last element is not JSON validated
    /// against `items: number` (the walk classifies a value by its first byte). `validate(json:)`
    /// now checks well-formedness first; `validate(wellFormed:)` trusts its caller.
    func testBytesThatAreNotJSONNeverValidate() throws {
        let s = try CompiledSchema(json: Array(##"{"$defs":{"n":{"type":"number"}},"items":{"$ref":"#/$defs/n"},"minItems":1}"##.utf8))
        let crash: [UInt8] = Array("[1,2.5,".utf8) + [0xDE, 0x7F, 0x22, 0x5D]
        XCTAssertEqual(s.validate(json: crash)?.keyword, "json")
        for text in ["[1,", "[1,2]x", "{\"a\":}", "\u{FEFF}[1]", "[1,2,]", "[\"\u{0}\"]"] {
            XCTAssertEqual(s.validate(json: Array(text.utf8))?.keyword, "json", text)
        }
        XCTAssertNil(s.validate(json: Array("[1, 2.5]".utf8)))
    }

    /// Duplicate member names: every occurrence is checked against the schema for its name and
    /// counted, as written (a parsed value would keep one, so counts could hide a member).
    func testDuplicateNamesAreEachChecked() throws {
        let s = try CompiledSchema(json: Array(#"{"properties":{"a":{"type":"integer"}},"maxProperties":1}"#.utf8))
        XCTAssertEqual(s.validate(json: Array(#"{"a":1,"a":"x"}"#.utf8))?.keyword, "type")
        XCTAssertEqual(s.validate(json: Array(#"{"a":1,"a":2}"#.utf8))?.keyword, "maxProperties")
    }
}
