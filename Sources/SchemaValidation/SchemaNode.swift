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

/// The keywords of one subschema as the compiler collects them; frozen into a SchemaNode.
struct Keywords {
    var always: Bool?
    var types = TypeSet.any
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var hasConst = false
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum: Double?
    var exclusiveMaximum: Double?
    var multipleOf: Double?
    var minLength: Int?
    var maxLength: Int?
    var pattern: ECMAPattern?
    var propertyKeys = KeyTable([])
    var propertyNodes: [SchemaNode] = []
    var patternProperties: [(pattern: ECMAPattern, node: SchemaNode)] = []
    var additionalProperties: SchemaNode?
    var required = KeyTable([])
    var propertyNames: SchemaNode?
    var minProperties: Int?
    var maxProperties: Int?
    var dependentRequired: [(key: [UInt8], required: [[UInt8]])] = []
    var dependentSchemas: [(key: [UInt8], node: SchemaNode)] = []
    var prefixItems: [SchemaNode] = []
    var items: SchemaNode?
    var contains: SchemaNode?
    var minContains: Int?
    var maxContains: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var allOf: [SchemaNode] = []
    var anyOf: [SchemaNode] = []
    var oneOf: [SchemaNode] = []
    var not: SchemaNode?
    var ifNode: SchemaNode?
    var thenNode: SchemaNode?
    var elseNode: SchemaNode?
    /// `$ref` is present (its target is resolved once the whole document is compiled).
    var hasRef = false
}

/// One compiled (sub)schema: each keyword taken out of the JSON once, in the form the walk
/// needs (property names as bytes, patterns compiled, bounds as numbers). Built by
/// `SchemaCompiler` and immutable (`let`s, read by the walk without retains or exclusivity
/// checks), but for the `$ref` link, set once when references are resolved.
final class SchemaNode: @unchecked Sendable {
    /// Where this node is in the schema document (a JSON pointer), for compile errors.
    let location: String
    let always: Bool?
    let types: TypeSet
    let enumValues: [JSONValue]?
    let constValue: JSONValue?
    let hasConst: Bool
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Double?
    let exclusiveMaximum: Double?
    let multipleOf: Double?
    let minLength: Int?
    let maxLength: Int?
    let pattern: ECMAPattern?
    let propertyKeys: KeyTable
    let propertyNodes: [SchemaNode]
    let patternProperties: [(pattern: ECMAPattern, node: SchemaNode)]
    let additionalProperties: SchemaNode?
    let required: KeyTable
    let propertyNames: SchemaNode?
    let minProperties: Int?
    let maxProperties: Int?
    let dependentRequired: [(key: [UInt8], required: [[UInt8]])]
    let dependentSchemas: [(key: [UInt8], node: SchemaNode)]
    let prefixItems: [SchemaNode]
    let items: SchemaNode?
    let contains: SchemaNode?
    let minContains: Int?
    let maxContains: Int?
    let minItems: Int?
    let maxItems: Int?
    let uniqueItems: Bool
    let allOf: [SchemaNode]
    let anyOf: [SchemaNode]
    let oneOf: [SchemaNode]
    let not: SchemaNode?
    let ifNode: SchemaNode?
    let thenNode: SchemaNode?
    let elseNode: SchemaNode?
    /// The `$ref` target. Unowned: every node lives in its CompiledSchema's arena, and refs
    /// may point back up the tree. Set once, during compilation.
    @exclusivity(unchecked) unowned(unsafe) var ref: SchemaNode?

    /// Keyword groups present, so the walk skips what a node does not have.
    let checksNumbers: Bool
    let checksStrings: Bool
    let checksObjects: Bool
    let checksArrays: Bool
    let inPlace: Bool
    /// `patternProperties` is not empty (asked per member; an array of tuples needs metadata).
    let hasPatternProperties: Bool

    init(location: String, _ k: Keywords) {
        self.location = location
        always = k.always
        types = k.types
        enumValues = k.enumValues
        constValue = k.constValue
        hasConst = k.hasConst
        minimum = k.minimum
        maximum = k.maximum
        exclusiveMinimum = k.exclusiveMinimum
        exclusiveMaximum = k.exclusiveMaximum
        multipleOf = k.multipleOf
        minLength = k.minLength
        maxLength = k.maxLength
        pattern = k.pattern
        propertyKeys = k.propertyKeys
        propertyNodes = k.propertyNodes
        patternProperties = k.patternProperties
        additionalProperties = k.additionalProperties
        required = k.required
        propertyNames = k.propertyNames
        minProperties = k.minProperties
        maxProperties = k.maxProperties
        dependentRequired = k.dependentRequired
        dependentSchemas = k.dependentSchemas
        prefixItems = k.prefixItems
        items = k.items
        contains = k.contains
        minContains = k.minContains
        maxContains = k.maxContains
        minItems = k.minItems
        maxItems = k.maxItems
        uniqueItems = k.uniqueItems
        allOf = k.allOf
        anyOf = k.anyOf
        oneOf = k.oneOf
        not = k.not
        ifNode = k.ifNode
        thenNode = k.thenNode
        elseNode = k.elseNode
        checksNumbers = k.minimum != nil || k.maximum != nil || k.exclusiveMinimum != nil
            || k.exclusiveMaximum != nil || k.multipleOf != nil
        checksStrings = k.minLength != nil || k.maxLength != nil || k.pattern != nil
        checksObjects = !k.propertyKeys.isEmpty || !k.patternProperties.isEmpty || k.additionalProperties != nil
            || !k.required.isEmpty || k.propertyNames != nil || k.minProperties != nil || k.maxProperties != nil
            || !k.dependentRequired.isEmpty || !k.dependentSchemas.isEmpty
        checksArrays = !k.prefixItems.isEmpty || k.items != nil || k.contains != nil || k.minItems != nil
            || k.maxItems != nil || k.uniqueItems
        hasPatternProperties = !k.patternProperties.isEmpty
        inPlace = !k.allOf.isEmpty || !k.anyOf.isEmpty || !k.oneOf.isEmpty || k.not != nil || k.ifNode != nil
            || k.hasRef
    }

    /// The nodes this one applies to the same instance (for finding `$ref` loops).
    var inPlaceChildren: [SchemaNode] {
        var out = allOf + anyOf + oneOf + dependentSchemas.map(\.node)
        for n in [not, ifNode, thenNode, elseNode, ref] { if let n { out.append(n) } }
        return out
    }
}
