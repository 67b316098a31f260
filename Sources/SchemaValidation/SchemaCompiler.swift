import MCPCore

/// Turns a schema document (JSON Schema 2020-12) into `SchemaNode`s, once: every subschema is
/// compiled where it stands, `$id`s and `$anchor`s are registered, then every `$ref` is resolved
/// within the document (JSON pointers, anchors, embedded resources); a pointer to a place not
/// compiled yet is compiled then. Finally, a `$ref` loop that would apply a schema to the same
/// value without end is refused. Every problem is a `SchemaError`, never a crash.
struct SchemaCompiler {
    private let document: JSONValue
    /// Every node made, kept alive by the compiled schema (`$ref` links are unowned).
    private(set) var arena: [SchemaNode] = []
    /// Nodes by their location in the document (a JSON pointer from its root).
    private var byLocation: [String: SchemaNode] = [:]
    /// Schema resources (`$id`, and the document itself) by URI: their location in the document.
    private var resources: [String: String] = [:]
    /// `$anchor` (and `$dynamicAnchor`, taken as a plain anchor) by `URI#name`.
    private var anchors: [String: SchemaNode] = [:]
    private var pendingRefs: [(node: SchemaNode, ref: String, base: URIReference)] = []

    /// Keywords whose meaning needs what this validator does not do (README.md lists them):
    /// a schema using one is refused, rather than validated as if it were not there.
    static let unsupported: Set<String> = ["$dynamicRef", "$recursiveRef", "unevaluatedProperties",
                                           "unevaluatedItems"]

    init(document: JSONValue) { self.document = document }

    /// Compiles the whole document; returns its root.
    mutating func compileDocument() throws(SchemaError) -> SchemaNode {
        let base = URIReference("")
        resources[""] = ""
        let root = try compile(document, at: "", base: base)
        var resolved = 0
        while resolved < pendingRefs.count {
            let (node, ref, base) = pendingRefs[resolved]
            resolved += 1
            node.ref = try resolve(ref, against: base, from: node.location)
        }
        try refuseLoops()
        return root
    }

    // MARK: keywords

    private mutating func compile(_ json: JSONValue, at location: String, base inherited: URIReference)
        throws(SchemaError) -> SchemaNode {
        if let existing = byLocation[location] { return existing }
        var k = Keywords()
        var named: [String] = []
        var base = inherited
        switch json {
        case .bool(let b):
            k.always = b
        case .object(let o):
            (base, named) = try keywords(o, &k, at: location, base: inherited)
        default:
            throw SchemaError(location, "a schema must be an object or a boolean")
        }
        let node = SchemaNode(location: location, k)
        arena.append(node)
        byLocation[location] = node
        for a in named { anchors[a] = node }
        if case .object(let o) = json, case .string(let ref)? = o["$ref"] { pendingRefs.append((node, ref, base)) }
        return node
    }

    /// Reads the keywords of `o` into `n`; returns the base URI in force there and the anchors
    /// (`URI#name`) that name it.
    private mutating func keywords(_ o: [String: JSONValue], _ n: inout Keywords, at: String,
                                   base inherited: URIReference)
        throws(SchemaError) -> (URIReference, [String]) {
        func loc(_ k: String) -> String { at + "/" + JSONPointer.escape(k) }
        for k in o.keys where SchemaCompiler.unsupported.contains(k) {
            throw SchemaError(loc(k), "\(k) is not supported")
        }
        var base = inherited
        var named: [String] = []
        if let id = o["$id"] {
            guard case .string(let s) = id else { throw SchemaError(loc("$id"), "$id must be a string") }
            var uri = URIReference(s).resolved(against: inherited)
            if let f = uri.fragment, !f.isEmpty { throw SchemaError(loc("$id"), "$id must not have a fragment") }
            uri.fragment = nil
            base = uri
            resources[uri.string] = at
        }
        for key in ["$anchor", "$dynamicAnchor"] {
            guard let a = o[key] else { continue }
            guard case .string(let name) = a, Self.isAnchorName(name) else {
                throw SchemaError(loc(key), "\(key) must be a name (a letter or _, then letters, digits, -, _, .)")
            }
            named.append(base.withoutFragment + "#" + name)
        }
        func sub(_ k: String) throws(SchemaError) -> SchemaNode? {
            guard let v = o[k] else { return nil }
            return try compile(v, at: loc(k), base: base)
        }
        func subs(_ k: String) throws(SchemaError) -> [SchemaNode] {
            guard let v = o[k] else { return [] }
            guard case .array(let a) = v, !a.isEmpty else {
                throw SchemaError(loc(k), "\(k) must be a non-empty array of schemas")
            }
            var out: [SchemaNode] = []
            for (i, s) in a.enumerated() { out.append(try compile(s, at: loc(k) + "/\(i)", base: base)) }
            return out
        }
        func schemaMap(_ k: String) throws(SchemaError) -> [(String, SchemaNode)] {
            guard let v = o[k] else { return [] }
            guard case .object(let m) = v else { throw SchemaError(loc(k), "\(k) must be an object of schemas") }
            var out: [(String, SchemaNode)] = []
            for (name, s) in m.sorted(by: { $0.key < $1.key }) {
                out.append((name, try compile(s, at: loc(k) + "/" + JSONPointer.escape(name), base: base)))
            }
            return out
        }
        func number(_ k: String) throws(SchemaError) -> Double? {
            guard let v = o[k] else { return nil }
            guard case .number(let d) = v else { throw SchemaError(loc(k), "\(k) must be a number") }
            return d
        }
        func count(_ k: String) throws(SchemaError) -> Int? {
            guard let v = o[k] else { return nil }
            guard case .number(let d) = v, d >= 0, d == d.rounded() else {
                throw SchemaError(loc(k), "\(k) must be a non-negative integer")
            }
            return d >= 9.2e18 ? Int.max : Int(d)
        }
        func names(_ v: JSONValue, at l: String) throws(SchemaError) -> [String] {
            guard case .array(let a) = v else { throw SchemaError(l, "must be an array of strings") }
            var out: [String] = []
            for e in a {
                guard case .string(let s) = e else { throw SchemaError(l, "must be an array of strings") }
                out.append(s)
            }
            return out
        }

        // Any instance.
        if let t = o["type"] { n.types = try Self.types(t, at: loc("type")) }
        if let e = o["enum"] {
            guard case .array(let values) = e else { throw SchemaError(loc("enum"), "enum must be an array") }
            n.enumValues = values
        }
        if let c = o["const"] { n.constValue = c; n.hasConst = true }
        // Numbers.
        n.minimum = try number("minimum")
        n.maximum = try number("maximum")
        n.exclusiveMinimum = try number("exclusiveMinimum")
        n.exclusiveMaximum = try number("exclusiveMaximum")
        if let m = try number("multipleOf") {
            guard m > 0 else { throw SchemaError(loc("multipleOf"), "multipleOf must be greater than 0") }
            n.multipleOf = m
        }
        // Strings.
        n.minLength = try count("minLength")
        n.maxLength = try count("maxLength")
        if let p = o["pattern"] {
            guard case .string(let s) = p else { throw SchemaError(loc("pattern"), "pattern must be a string") }
            n.pattern = try ECMAPattern(s, at: loc("pattern"))
        }
        // Objects.
        let properties = try schemaMap("properties")
        n.propertyKeys = KeyTable(properties.map(\.0))
        n.propertyNodes = properties.map(\.1)
        if let pp = o["patternProperties"] {
            guard case .object(let m) = pp else {
                throw SchemaError(loc("patternProperties"), "patternProperties must be an object of schemas")
            }
            for (source, s) in m.sorted(by: { $0.key < $1.key }) {
                let l = loc("patternProperties") + "/" + JSONPointer.escape(source)
                n.patternProperties.append((try ECMAPattern(source, at: l), try compile(s, at: l, base: base)))
            }
        }
        n.additionalProperties = try sub("additionalProperties")
        if let r = o["required"] { n.required = KeyTable(try names(r, at: loc("required"))) }
        n.propertyNames = try sub("propertyNames")
        n.minProperties = try count("minProperties")
        n.maxProperties = try count("maxProperties")
        if let d = o["dependentRequired"] {
            guard case .object(let m) = d else {
                throw SchemaError(loc("dependentRequired"), "dependentRequired must be an object of string arrays")
            }
            for (key, v) in m.sorted(by: { $0.key < $1.key }) {
                let l = loc("dependentRequired") + "/" + JSONPointer.escape(key)
                n.dependentRequired.append((Array(key.utf8), try names(v, at: l).map { Array($0.utf8) }))
            }
        }
        n.dependentSchemas = try schemaMap("dependentSchemas").map { (Array($0.0.utf8), $0.1) }
        // Arrays.
        if let items = o["items"], case .array = items {
            throw SchemaError(loc("items"), "items must be a schema (the array form is prefixItems in 2020-12)")
        }
        n.prefixItems = try subs("prefixItems")
        n.items = try sub("items")
        n.contains = try sub("contains")
        n.minContains = try count("minContains")
        n.maxContains = try count("maxContains")
        n.minItems = try count("minItems")
        n.maxItems = try count("maxItems")
        if let u = o["uniqueItems"] {
            guard case .bool(let b) = u else { throw SchemaError(loc("uniqueItems"), "uniqueItems must be a boolean") }
            n.uniqueItems = b
        }
        // In place.
        n.allOf = try subs("allOf")
        n.anyOf = try subs("anyOf")
        n.oneOf = try subs("oneOf")
        n.not = try sub("not")
        n.ifNode = try sub("if")
        if n.ifNode != nil {
            n.thenNode = try sub("then")
            n.elseNode = try sub("else")
        } else {
            _ = try sub("then") // compiled for their errors and as `$ref` targets; they apply only with `if`
            _ = try sub("else")
        }
        if let r = o["$ref"] {
            guard case .string = r else { throw SchemaError(loc("$ref"), "$ref must be a string") }
            n.hasRef = true
        }
        _ = try schemaMap("$defs")
        return (base, named)
    }

    private static func types(_ t: JSONValue, at l: String) throws(SchemaError) -> TypeSet {
        func one(_ v: JSONValue) throws(SchemaError) -> TypeSet {
            guard case .string(let s) = v, let t = TypeSet.names.first(where: { $0.0 == s })?.1 else {
                throw SchemaError(
                    l, "type must name JSON types (null, boolean, object, array, number, integer, string)")
            }
            return t == .number ? [.number, .integer] : t
        }
        if case .array(let a) = t {
            var set = TypeSet()
            for v in a { set.formUnion(try one(v)) }
            return set
        }
        return try one(t)
    }

    static func isAnchorName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f.isASCIILetter || f == "_" else { return false }
        return s.unicodeScalars.allSatisfy {
            $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
    }

    // MARK: references

    private mutating func resolve(_ ref: String, against base: URIReference, from location: String)
        throws(SchemaError) -> SchemaNode {
        let target = URIReference(ref).resolved(against: base)
        let uri = target.withoutFragment
        guard let fragment = JSONPointer.percentDecoded(target.fragment ?? "") else {
            throw SchemaError(location + "/$ref", "bad percent-encoding in \(ref)")
        }
        guard let resource = resources[uri] else {
            throw SchemaError(location + "/$ref",
                              "cannot resolve \(ref): only references within the schema are supported")
        }
        if !fragment.isEmpty && !fragment.hasPrefix("/") {
            guard let n = anchors[uri + "#" + fragment] else {
                throw SchemaError(location + "/$ref", "cannot resolve \(ref): no such $anchor")
            }
            return n
        }
        guard let tokens = JSONPointer.tokens(fragment), let rootTokens = JSONPointer.tokens(resource) else {
            throw SchemaError(location + "/$ref", "cannot resolve \(ref): not a JSON pointer")
        }
        let all = rootTokens + tokens
        let targetLocation = all.map { "/" + JSONPointer.escape($0) }.joined()
        if let n = byLocation[targetLocation] { return n }
        var v = document
        for t in all {
            switch v {
            case .object(let o) where o[t] != nil: v = o[t]!
            case .array(let a) where Int(t).map({ $0 >= 0 && $0 < a.count && String($0) == t }) == true: v = a[Int(t)!]
            default: throw SchemaError(location + "/$ref", "cannot resolve \(ref): nothing at that pointer")
            }
        }
        return try compile(v, at: targetLocation, base: URIReference(uri))
    }

    /// A cycle of in-place applicators (`$ref`, `allOf`, `not`, ...) would apply a schema to the
    /// same value again and again: refused here rather than overflowing the stack later.
    private func refuseLoops() throws(SchemaError) {
        var state: [ObjectIdentifier: UInt8] = [:] // 1: on the path, 2: done
        func visit(_ n: SchemaNode) throws(SchemaError) {
            let id = ObjectIdentifier(n)
            if state[id] == 2 { return }
            if state[id] == 1 {
                throw SchemaError(n.location, "a $ref loop applies this schema to the same value without end")
            }
            state[id] = 1
            for c in n.inPlaceChildren { try visit(c) }
            state[id] = 2
        }
        for n in arena { try visit(n) }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
