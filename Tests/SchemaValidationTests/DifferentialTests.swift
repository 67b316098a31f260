import Foundation
import MCPCore
import SchemaValidation
import XCTest

/// Compares this validator's verdicts with Python's `jsonschema` (Draft202012Validator) on the
/// random schemas and instances of Tests/schema/differential.py (`make schema-data` writes
/// .build/schema-differential/cases.jsonl). Each instance is validated twice: as the bytes
/// Python wrote (with its spaces) and as a decoded value written out again. Zero disagreements.
final class DifferentialTests: XCTestCase {
    func testAgreesWithPythonJsonschema() throws {
        let path = try SuiteSupport.path("SCHEMA_DIFFERENTIAL_FILE", fallback: ".build/schema-differential/cases.jsonl")
        let data = try SuiteSupport.read(path)
        var cases = 0, valid = 0, compiled = 0
        var cache = SchemaCache()
        var disagreements: [String] = []
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            let bytes = Array(line)
            var schemaRange: Range<Int>?, instanceRange: Range<Int>?, expected: Bool?
            try bytes.withUnsafeBytes { raw in
                try JSONValue.forEachMember(raw) { key, range in
                    switch key {
                    case "schema": schemaRange = range
                    case "instance": instanceRange = range
                    case "valid": expected = raw[range.lowerBound] == UInt8(ascii: "t")
                    default: break
                    }
                }
            }
            guard let schemaRange, let instanceRange, let expected else {
                XCTFail("malformed line \(cases + 1)")
                continue
            }
            cases += 1
            if expected { valid += 1 }
            let schemaJSON = try JSONValue.parse(bytes[schemaRange])
            let schema: CompiledSchema
            switch cache.schema(schemaJSON) {
            case .success(let s): schema = s
            case .failure(let e):
                disagreements.append("line \(cases): schema refused: \(e)")
                continue
            }
            compiled = cache.compilations
            let asBytes = bytes.withUnsafeBytes {
                schema.validate(json: UnsafeRawBufferPointer(rebasing: $0[instanceRange]))
            }
            let asValue = schema.validate(try JSONValue.parse(bytes[instanceRange]))
            for (how, v) in [("bytes", asBytes), ("value", asValue)] where (v == nil) != expected {
                let theirs = expected ? "valid" : "invalid"
                disagreements.append("line \(cases) (\(how)): jsonschema says \(theirs), we say "
                                     + (v.map { "invalid: \($0)" } ?? "valid") + "\n  "
                                     + String(decoding: line, as: UTF8.self))
            }
        }
        print("differential: \(cases) cases (\(valid) valid) over \(compiled) distinct schemas, "
              + "\(disagreements.count) disagreements")
        for d in disagreements.prefix(30) { XCTFail(d) }
        XCTAssertEqual(disagreements.count, 0)
        XCTAssertGreaterThanOrEqual(cases, 5_000)
    }
}
