// The JSON Schema compiler and validator (SchemaValidation). Mode 0 takes raw bytes: a schema
// (two length bytes, then its text) and an instance (the rest). Mode 1 builds both from a
// grammar over every supported keyword, so the fuzzer reaches deep keyword combinations that
// raw mutation rarely spells. Invariants: compiling never crashes (it compiles or throws);
// validating the instance's bytes agrees with validating its parsed value (the byte walk and the
// tree decide alike); bytes that are not JSON never validate, and the walk that trusts its
// input (`validate(wellFormed:)`) reads nothing outside them; validating twice is deterministic.
import FuzzSupport
import MCPCore
@testable import SchemaValidation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSchema(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let schemaText: [UInt8], instanceText: [UInt8]
    if input.below(2) == 0 {
        let length = Int(input.byte()) << 8 | Int(input.byte())
        schemaText = Array(input.bytes.dropFirst(input.offset).prefix(length))
        for _ in 0..<schemaText.count { _ = input.byte() }
        instanceText = input.rest()
    } else {
        var grammar = Grammar(input: input)
        schemaText = Array(grammar.schema(depth: 0).utf8)
        instanceText = Array(grammar.value(depth: 0).utf8)
    }
    let schema: CompiledSchema
    do { schema = try CompiledSchema(json: schemaText) } catch { return 0 }
    require(schema.nodeCount >= 1, "a compiled schema without nodes")

    // Any bytes at all through the walk that trusts its input: an answer, never a bad read.
    _ = instanceText.withUnsafeBytes { schema.validate(wellFormed: $0) }
    let verdict = schema.validate(json: instanceText)
    require(verdict == schema.validate(json: instanceText), "two verdicts for one instance")
    guard let parsed = try? JSONValue.parse(instanceText) else {
        require(verdict != nil, "bytes that are not JSON validated: \(String(decoding: instanceText, as: UTF8.self))")
        return 0
    }
    // Duplicate member names: the walk checks and counts every member as written, a parsed
    // value keeps one of them (README.md, "Argument validation"), so the two may differ there.
    guard !hasDuplicateNames(instanceText) else { return 0 }
    let treeVerdict = schema.validate(parsed)
    require((verdict == nil) == (treeVerdict == nil),
            "the byte walk and the parsed value disagree: schema \(String(decoding: schemaText, as: UTF8.self)) "
            + "instance \(String(decoding: instanceText, as: UTF8.self)): \(String(describing: verdict)) vs "
            + "\(String(describing: treeVerdict))")
    return 0
}

/// Whether an object in `json` (well-formed) names a member twice, comparing names as written
/// (escapes that spell one name two ways are rare enough for the fuzzer: the decoded names are
/// compared too when a name has a backslash).
private func hasDuplicateNames(_ json: [UInt8]) -> Bool {
    var stack: [(isObject: Bool, names: Set<String>)] = []
    var i = 0
    var expectName = false
    while i < json.count {
        let c = json[i]
        switch c {
        case UInt8(ascii: "{"): stack.append((true, [])); expectName = true
        case UInt8(ascii: "["): stack.append((false, []))
        case UInt8(ascii: "}"), UInt8(ascii: "]"): stack.removeLast(); expectName = false
        case UInt8(ascii: ","): expectName = stack.last?.isObject == true
        case UInt8(ascii: "\""):
            var k = i + 1
            while json[k] != UInt8(ascii: "\"") { k += json[k] == UInt8(ascii: "\\") ? 2 : 1 }
            if expectName {
                let quoted = Array(json[i...k])
                let name = quoted.withUnsafeBytes { JSONValue.parseString($0) } ?? ""
                if !stack[stack.count - 1].names.insert(name).inserted { return true }
                expectName = false
            }
            i = k
        default: break
        }
        i += 1
    }
    return false
}

/// Schemas and instances as JSON text, from the fuzzer's decisions; small name and value sets so
/// that schemas and instances meet.
private struct Grammar {
    var input: FuzzInput
    static let names = ["a", "b", "c", "foo", "\\u00e9", "", "1"]
    static let numbers = ["0", "-1", "1", "2", "1.5", "-0", "1.0", "3", "10", "0.1", "1e308", "2.5e-3",
                          "100000000000000000000", "-9007199254740993", "7E2"]
    static let strings = ["\"\"", "\"a\"", "\"ab\"", "\"abc123\"", "\"\\u00e9t\\u00e9\"", "\"\\ud83d\\ude00\"",
                          "\"\\n\"", "\"2020-01-01\"", "\"foo\"", "\"\\u0000\""]
    static let types = ["null", "boolean", "object", "array", "number", "string", "integer"]
    static let patterns = ["^a", "b$", "^[a-z]+$", "\\\\d", "^(foo|bar)*$", "a{2,}", ".", "^\\\\p{L}+$", "[^a]",
                           "(?:x)?y", "^$"]

    mutating func choose(_ n: Int) -> Int { input.below(n) }
    mutating func name() -> String { "\"\(input.pick(Self.names))\"" }

    mutating func list(_ depth: Int, max: Int = 3, _ element: (inout Grammar) -> String) -> String {
        let n = choose(max + 1)
        return "[" + (0..<n).map { _ in element(&self) }.joined(separator: ",") + "]"
    }

    mutating func value(depth: Int) -> String {
        switch choose(depth >= 3 ? 5 : 7) {
        case 0: return "null"
        case 1: return input.bool() ? "true" : "false"
        case 2: return input.pick(Self.numbers)
        case 3, 4: return input.pick(Self.strings)
        case 5: return list(depth) { $0.value(depth: depth + 1) }
        default:
            let n = choose(4)
            return "{" + (0..<n).map { _ in "\(name()):\(value(depth: depth + 1))" }.joined(separator: ",") + "}"
        }
    }

    mutating func schemas(_ depth: Int) -> String { list(depth, max: 3) { $0.schema(depth: depth + 1) } }

    mutating func schema(depth: Int) -> String {
        if depth >= 4 || choose(8) == 0 { return input.bool() ? "true" : "false" }
        var members: [String] = []
        for _ in 0..<(1 + choose(3)) { members.append(keyword(depth)) }
        if depth == 0 && choose(3) == 0 {
            members.append("\"$defs\":{\"d\":\(schema(depth: 1)),\"e\":{\"$anchor\":\"e\",\"type\":\"string\"}}")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func keyword(_ depth: Int) -> String {
        let count = String(choose(4))
        switch choose(34) {
        case 0: return "\"type\":\"\(input.pick(Self.types))\""
        case 1: return "\"type\":" + list(depth) { "\"\(Grammar.types[$0.choose(Grammar.types.count)])\"" }
        case 2: return "\"enum\":" + list(depth) { $0.value(depth: depth + 1) }
        case 3: return "\"const\":" + value(depth: depth + 1)
        case 4: return "\"minimum\":" + input.pick(Self.numbers)
        case 5: return "\"maximum\":" + input.pick(Self.numbers)
        case 6: return "\"exclusiveMinimum\":" + input.pick(Self.numbers)
        case 7: return "\"exclusiveMaximum\":" + input.pick(Self.numbers)
        case 8: return "\"multipleOf\":" + input.pick(["1", "2", "0.5", "0.1", "3", "1e-8", "7"])
        case 9: return "\"minLength\":" + count
        case 10: return "\"maxLength\":" + count
        case 11: return "\"pattern\":\"\(input.pick(Self.patterns))\""
        case 12:
            let n = choose(4)
            return "\"properties\":{" + (0..<n).map { _ in "\(name()):\(schema(depth: depth + 1))" }
                .joined(separator: ",") + "}"
        case 13: return "\"patternProperties\":{\"\(input.pick(Self.patterns))\":\(schema(depth: depth + 1))}"
        case 14: return "\"additionalProperties\":" + schema(depth: depth + 1)
        case 15: return "\"required\":" + list(depth) { $0.name() }
        case 16: return "\"propertyNames\":" + schema(depth: depth + 1)
        case 17: return "\"minProperties\":" + count
        case 18: return "\"maxProperties\":" + count
        case 19: return "\"dependentRequired\":{\(name()):" + list(depth) { $0.name() } + "}"
        case 20: return "\"dependentSchemas\":{\(name()):\(schema(depth: depth + 1))}"
        case 21: return "\"prefixItems\":" + schemas(depth)
        case 22: return "\"items\":" + schema(depth: depth + 1)
        case 23: return "\"contains\":" + schema(depth: depth + 1)
        case 24: return (input.bool() ? "\"minContains\":" : "\"maxContains\":") + count
        case 25: return (input.bool() ? "\"minItems\":" : "\"maxItems\":") + count
        case 26: return "\"uniqueItems\":" + (input.bool() ? "true" : "false")
        case 27: return "\"allOf\":" + schemas(depth)
        case 28: return "\"anyOf\":" + schemas(depth)
        case 29: return "\"oneOf\":" + schemas(depth)
        case 30: return "\"not\":" + schema(depth: depth + 1)
        case 31:
            return "\"if\":\(schema(depth: depth + 1)),\"then\":\(schema(depth: depth + 1)),"
                + "\"else\":\(schema(depth: depth + 1))"
        case 32: return "\"$ref\":\"" + input.pick(["#", "#/$defs/d", "#e", "#/$defs/e", "#/properties/a"]) + "\""
        default: return "\"format\":\"" + input.pick(["date", "email", "uri", "x"]) + "\""
        }
    }
}
