import MCPCore

/// The JSON types of the `type` keyword, as bits.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1)
    static let boolean = TypeSet(rawValue: 2)
    static let object = TypeSet(rawValue: 4)
    static let array = TypeSet(rawValue: 8)
    static let number = TypeSet(rawValue: 16)
    /// A number with no fractional part (1.0 included).
    static let integer = TypeSet(rawValue: 32)
    static let string = TypeSet(rawValue: 64)
    static let any = TypeSet(rawValue: 127)

    static let names: [(String, TypeSet)] = [("null", .null), ("boolean", .boolean), ("object", .object),
                                             ("array", .array), ("number", .number), ("integer", .integer),
                                             ("string", .string)]

    var text: String {
        let shown = contains(.number) ? subtracting(.integer) : self
        let parts = TypeSet.names.filter { shown.contains($0.1) }.map(\.0)
        return parts.count == 1 ? parts[0] : parts.joined(separator: " or ")
    }
}

/// One compiled (sub)schema: each keyword taken out of the JSON once, in the form the walk
/// needs (property names as bytes, patterns compiled, bounds as numbers). Built by
/// `SchemaCompiler`, never changed once compilation ends.
final class SchemaNode: @unchecked Sendable {
    /// A boolean schema: true accepts everything, false nothing.
    var always: Bool?
    /// Where this node is in the schema document (a JSON pointer), for compile errors.
    let location: String

    var types = TypeSet.any
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var hasConst = false

    // Numbers.
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum: Double?
    var exclusiveMaximum: Double?
    var multipleOf: Double?
    // Strings.
    var minLength: Int?
    var maxLength: Int?
    var pattern: ECMAPattern?
    // Objects.
    var properties: [Property] = []
    var patternProperties: [(pattern: ECMAPattern, node: SchemaNode)] = []
    var additionalProperties: SchemaNode?
    var required: [[UInt8]] = []
    var propertyNames: SchemaNode?
    var minProperties: Int?
    var maxProperties: Int?
    var dependentRequired: [(key: [UInt8], required: [[UInt8]])] = []
    var dependentSchemas: [(key: [UInt8], node: SchemaNode)] = []
    // Arrays.
    var prefixItems: [SchemaNode] = []
    var items: SchemaNode?
    var contains: SchemaNode?
    var minContains: Int?
    var maxContains: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    // Applicators on the same instance.
    var allOf: [SchemaNode] = []
    var anyOf: [SchemaNode] = []
    var oneOf: [SchemaNode] = []
    var not: SchemaNode?
    var ifNode: SchemaNode?
    var thenNode: SchemaNode?
    var elseNode: SchemaNode?
    /// The `$ref` target. Unowned: every node lives in its CompiledSchema's arena, and refs
    /// may point back up the tree.
    unowned(unsafe) var ref: SchemaNode?
    var refText = ""

    /// Keyword groups present, so the walk skips what a node does not have.
    var checksNumbers = false
    var checksStrings = false
    var checksObjects = false
    var checksArrays = false
    var inPlace = false

    init(location: String) { self.location = location }

    struct Property {
        /// The name's UTF-8 bytes, compared with an instance's member names as they lie.
        let key: [UInt8]
        let name: String
        let node: SchemaNode
    }

    /// Sets the summary flags once every keyword is in.
    func finish() {
        checksNumbers = minimum != nil || maximum != nil || exclusiveMinimum != nil || exclusiveMaximum != nil
            || multipleOf != nil
        checksStrings = minLength != nil || maxLength != nil || pattern != nil
        checksObjects = !properties.isEmpty || !patternProperties.isEmpty || additionalProperties != nil
            || !required.isEmpty || propertyNames != nil || minProperties != nil || maxProperties != nil
            || !dependentRequired.isEmpty || !dependentSchemas.isEmpty
        checksArrays = !prefixItems.isEmpty || items != nil || contains != nil || minItems != nil
            || maxItems != nil || uniqueItems
        inPlace = !allOf.isEmpty || !anyOf.isEmpty || !oneOf.isEmpty || not != nil || ifNode != nil || ref != nil
    }

    /// The nodes this one applies to the same instance (for finding `$ref` loops).
    var inPlaceChildren: [SchemaNode] {
        var out = allOf + anyOf + oneOf + dependentSchemas.map(\.node)
        for n in [not, ifNode, thenNode, elseNode, ref] { if let n { out.append(n) } }
        return out
    }
}
