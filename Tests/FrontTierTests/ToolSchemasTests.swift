@testable import FrontTier
import MCPCore
import SchemaValidation
import XCTest

/// The stage's table of compiled input schemas, found by a tool name's bytes.
final class ToolSchemasTests: XCTestCase {
    func testFindsEveryNameAndNothingElse() throws {
        var entries: [String: CompiledSchema] = [:]
        for i in 0..<40 {
            entries["tool_\(i)"] = try CompiledSchema(json: Array(#"{"type":"object"}"#.utf8))
        }
        entries[""] = try CompiledSchema(json: Array("true".utf8))
        entries["é✓"] = try CompiledSchema(json: Array("false".utf8))
        let table = ToolSchemas(entries)
        for (name, schema) in entries {
            var n = name
            let found = n.withUTF8 { table.schema(named: UnsafeRawBufferPointer($0)) }
            XCTAssertTrue(found === schema, name)
        }
        for missing in ["tool_40", "tool", "tool_1 ", "é"] {
            var n = missing
            XCTAssertNil(n.withUTF8 { table.schema(named: UnsafeRawBufferPointer($0)) }, missing)
        }
        var any = "echo"
        XCTAssertNil(any.withUTF8 { ToolSchemas().schema(named: UnsafeRawBufferPointer($0)) })
    }
}
