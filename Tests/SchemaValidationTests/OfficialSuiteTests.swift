import Foundation
import MCPCore
import SchemaValidation
import XCTest

/// Every case of the official JSON-Schema-Test-Suite (draft2020-12) for the keywords this
/// validator supports. The suite is not committed: `make schema-data` unpacks it from the
/// pinned `jsonschema` sdist into .build/schema-suite. Files and groups left out, and why,
/// are listed here and in README.md ("Argument validation").
final class OfficialSuiteTests: XCTestCase {
    /// Files run whole (every group, every case).
    static let files = [
        "additionalProperties", "allOf", "anchor", "anyOf", "boolean_schema", "const", "contains", "content",
        "default", "dependentRequired", "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum",
        "format", "if-then-else", "infinite-loop-detection", "items", "maxContains", "maxItems", "maxLength",
        "maxProperties", "maximum", "minContains", "minItems", "minLength", "minProperties", "minimum",
        "multipleOf", "not", "oneOf", "pattern", "patternProperties", "prefixItems", "properties",
        "propertyNames", "ref", "required", "type", "uniqueItems",
    ]

    /// Files left out: keywords not supported, or cases that need a remote document.
    static let skippedFiles: [String: String] = [
        "defs": "validates schemas against the 2020-12 metaschema, a remote document",
        "dynamicRef": "$dynamicRef is not supported",
        "refRemote": "remote references are not supported",
        "unevaluatedItems": "unevaluatedItems is not supported",
        "unevaluatedProperties": "unevaluatedProperties is not supported",
        "vocabulary": "custom metaschemas ($vocabulary) are remote documents",
    ]

    /// Groups left out of files run otherwise, by file and group description.
    static let skippedGroups: [String: [String: String]] = [
        "ref": [
            "remote ref, containing refs itself": "refers to the 2020-12 metaschema, a remote document",
            "ref creates new scope when adjacent to keywords": "uses unevaluatedProperties",
        ],
        "not": [
            "collect annotations inside a 'not', even if collection is disabled": "uses unevaluatedProperties",
        ],
    ]

    func testOfficialDraft2020_12() throws {
        let dir = try SuiteSupport.path("SCHEMA_SUITE_DIR", fallback: ".build/schema-suite/tests/draft2020-12")
        var cases = 0, groups = 0, skipped = 0
        var failures: [String] = []
        for file in Self.files {
            let json = try JSONValue.parse(SuiteSupport.read(dir + "/" + file + ".json"))
            guard case .array(let list) = json else { XCTFail("\(file): not an array"); continue }
            for group in list {
                let description = group["description"]?.stringValue ?? "?"
                if Self.skippedGroups[file]?[description] != nil { skipped += 1; continue }
                groups += 1
                guard let schemaJSON = group["schema"], case .array(let tests)? = group["tests"] else {
                    failures.append("\(file) / \(description): malformed group")
                    continue
                }
                let schema: CompiledSchema
                do {
                    schema = try CompiledSchema(schemaJSON)
                } catch {
                    failures.append("\(file) / \(description): \(error)")
                    continue
                }
                for t in tests {
                    guard let data = t["data"], case .bool(let valid)? = t["valid"] else { continue }
                    cases += 1
                    let violation = schema.validate(data)
                    if (violation == nil) != valid {
                        let what = t["description"]?.stringValue ?? "?"
                        failures.append("\(file) / \(description) / \(what): expected \(valid ? "valid" : "invalid")"
                                        + (violation.map { ", got \($0)" } ?? ", got valid"))
                    }
                }
            }
        }
        print("official suite draft2020-12: \(cases) cases in \(groups) groups of \(Self.files.count) files passed "
              + "\(cases - failures.count)/\(cases); \(skipped) groups skipped")
        for f in failures { XCTFail(f) }
        XCTAssertGreaterThan(cases, 900)
    }
}
