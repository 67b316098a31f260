import CSupport
import MCPCore
import SchemaValidation

/// Validates a `tools/call`'s `params.arguments` against the tool's `inputSchema` (JSON Schema
/// 2020-12), at the front, for every executor: a call that fails never reaches one. The
/// schemas are compiled when the catalog is (re)built (`MergedCatalog.validators`); the
/// arguments are walked where they lie in the request's bytes, nothing is decoded into a tree.
///
/// A failure is a tool execution error, as MCP asks (so a model can correct itself): a result
/// with `isError: true` whose text names the instance path and the keyword, HTTP 200; in the
/// stateless era the result is stamped `resultType: complete`. Calls to tools the catalog does
/// not know, or whose schema did not compile, pass on (ToolsCall and the executor decide).
/// Placed only when `--validate-arguments on` (the default).
final class ArgumentValidationStage: RequestStage {
    let name = "argument validation"
    private let services: FrontServices
    private let toolsCall: Int?

    init(services: FrontServices, methods: MethodTable) {
        self.services = services
        toolsCall = methods.index(of: "tools/call")
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard let i = r.methodIndex, i == toolsCall, r.id != nil,
              r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT) else { return .proceed }
        let argKind = r.envelope.raw.arguments.kind
        let name = r.envelope.raw.name
        guard argKind == Int32(SY_JSON_ABSENT) || argKind == Int32(SY_JSON_OBJECT),
              name.kind == Int32(SY_JSON_STRING) else { return .proceed }
        // The name as it lies in the body; decoded only when it has escapes.
        let table = services.pool.catalog.toolSchemas
        let found: CompiledSchema?
        if name.escaped == 0 {
            found = table.schema(named: Envelope.bytes(r.body, name))
        } else {
            guard var decoded = r.envelope.name(in: r.body) else { return .proceed }
            found = decoded.withUTF8 { table.schema(named: UnsafeRawBufferPointer($0)) }
        }
        guard let schema = found else { return .proceed }
        let violation = argKind == Int32(SY_JSON_OBJECT)
            ? schema.validate(wellFormed: Envelope.bytes(r.body, r.envelope.raw.arguments))
            : schema.validate(json: Self.noArguments)
        guard let violation else { return .proceed }
        let tool = r.envelope.name(in: r.body) ?? ""
        r.slot.tool = tool
        services.metrics.tool(tool).toolError.increment()
        services.writer.result(r.target, Self.result(tool: tool, violation, stateless: r.isStateless))
        return .answered
    }

    /// Absent arguments are validated as an empty object.
    private static let noArguments: [UInt8] = Array("{}".utf8)

    /// `{"content":[{"type":"text","text":"Invalid arguments for tool T: <path>: <keyword>: <message>"}],
    /// "isError":true}`, stamped `"resultType":"complete"` in the stateless era.
    static func result(tool: String, _ v: SchemaViolation, stateless: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        out += "{\"content\":[{\"type\":\"text\",\"text\":".utf8
        JSONValue.appendQuoted("Invalid arguments for tool \(tool): \(v)", to: &out)
        out += "}],\"isError\":true".utf8
        if stateless { out += ",\"resultType\":\"complete\"".utf8 }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
