import CSupport
import MCPCore

/// A JSON Schema (2020-12) compiled once, to validate any number of instances.
///
///     let schema = try CompiledSchema(JSONValue.parse(schemaBytes))
///     if let v = schema.validate(json: argumentBytes) { print(v) } // "/a: type: expected number, got string"
///
/// Supported: `type`, `enum`, `const`; `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `multipleOf`; `minLength`, `maxLength`, `pattern`; `properties`,
/// `patternProperties`, `additionalProperties`, `required`, `propertyNames`, `minProperties`,
/// `maxProperties`, `dependentRequired`, `dependentSchemas`; `prefixItems`, `items`,
/// `contains`, `minContains`, `maxContains`, `minItems`, `maxItems`, `uniqueItems`; `allOf`,
/// `anyOf`, `oneOf`, `not`, `if`/`then`/`else`; `$ref` within the document (JSON pointers,
/// `$anchor`, embedded `$id` resources), `$defs`. `format` and the other annotations are not
/// asserted; unknown keywords are ignored. Refused at compilation: `$dynamicRef`,
/// `unevaluatedProperties`, `unevaluatedItems`, references outside the document.
public final class CompiledSchema: Sendable {
    private let root: SchemaNode
    /// Every node, alive as long as the schema (`$ref` links are unowned).
    private let arena: [SchemaNode]

    public init(_ schema: JSONValue) throws(SchemaError) {
        var compiler = SchemaCompiler(document: schema)
        root = try compiler.compileDocument()
        arena = compiler.arena
    }

    /// Parses and compiles schema bytes.
    public convenience init(json: [UInt8]) throws(SchemaError) {
        guard let value = try? JSONValue.parse(json) else { throw SchemaError("", "the schema is not JSON") }
        try self.init(value)
    }

    /// Nodes compiled (for tests and logs).
    public var nodeCount: Int { arena.count }

    /// The first violation of the instance whose JSON bytes are `json` (whitespace around it
    /// allowed), or nil when it is valid. Bytes that are not one well-formed JSON text (RFC 8259,
    /// UTF-8) give a violation.
    public func validate(json: UnsafeRawBufferPointer) -> SchemaViolation? {
        guard let base = json.baseAddress, sy_json_validate(base.assumingMemoryBound(to: UInt8.self), json.count) == 0
        else { return Validator.malformed() }
        return validate(wellFormed: json)
    }

    /// Like `validate(json:)` for bytes already known to be one well-formed JSON text (the
    /// front's request and reply scans validate every byte): the walk reads only what the
    /// schema asks about, so bytes that are not JSON get an answer for some reading of them
    /// (never a crash, never a read outside `json`).
    public func validate(wellFormed json: UnsafeRawBufferPointer) -> SchemaViolation? {
        var start = 0, end = json.count
        let bytes = InstanceBytes(b: json)
        bytes.skipSpace(&start, end)
        while end > start, json[end - 1] == 0x20 || json[end - 1] == 0x0A || json[end - 1] == 0x0D
            || json[end - 1] == 0x09 { end -= 1 }
        guard start < end else { return Validator.malformed() }
        var v = Validator(json)
        return v.check(root, start..<end)
    }

    public func validate(json: [UInt8]) -> SchemaViolation? {
        json.withUnsafeBytes { validate(json: $0) }
    }

    /// Validates a decoded value (written out as JSON, then walked like any instance).
    public func validate(_ instance: JSONValue) -> SchemaViolation? {
        instance.compactJSONBytes().withUnsafeBytes { validate(wellFormed: $0) }
    }
}
