import MCPCore

/// Validates an instance's bytes against compiled nodes in one walk, building no tree: each
/// value is classified by its first byte, numbers and strings are decoded only for a node
/// that bounds them, objects and arrays are stepped through where they lie. Only `enum`,
/// `const` and `uniqueItems` decode the value they look at. Stops at the first violation.
struct Validator {
    let bytes: InstanceBytes
    /// In-place applications nested now; compilation refuses loops, this only bounds a very
    /// deep chain of `$ref`s.
    private var depth = 0
    static let maxDepth = 2_000

    init(_ b: UnsafeRawBufferPointer) { bytes = InstanceBytes(b: b) }

    static func malformed() -> SchemaViolation { SchemaViolation("json", "the value is not well-formed JSON") }

    /// The value in `range` (no surrounding space) against `n`.
    mutating func check(_ n: SchemaNode, _ range: Range<Int>) -> SchemaViolation? {
        if let always = n.always { return always ? nil : SchemaViolation("false", "no value is allowed here") }
        guard !range.isEmpty else { return Self.malformed() }
        let b = bytes.b
        let kind: TypeSet
        switch b[range.lowerBound] {
        case 0x7B: kind = .object
        case 0x5B: kind = .array
        case 0x22: kind = .string
        case 0x74, 0x66: kind = .boolean
        case 0x6E: kind = .null
        default: kind = .number
        }
        var number: Double?
        if n.types != .any && !n.types.contains(kind) {
            var ok = false
            if kind == .number && n.types.contains(.integer) {
                guard let d = bytes.number(range) else { return Self.malformed() }
                number = d
                ok = d == d.rounded(.towardZero)
            }
            if !ok { return SchemaViolation("type", "expected \(n.types.text), got \(Self.name(kind))") }
        }
        if n.enumValues != nil || n.hasConst {
            guard let v = bytes.value(range) else { return Self.malformed() }
            if n.hasConst, let c = n.constValue, !JSONEquality.equal(v, c) {
                return SchemaViolation("const", "must be \(c.compactJSON())")
            }
            if let e = n.enumValues, !e.contains(where: { JSONEquality.equal(v, $0) }) {
                let shown = e.prefix(8).map { $0.compactJSON() }.joined(separator: ", ")
                return SchemaViolation("enum", "must be one of \(shown)\(e.count > 8 ? ", ..." : "")")
            }
        }
        switch kind {
        case .number where n.checksNumbers:
            if number == nil { number = bytes.number(range) }
            guard let d = number else { return Self.malformed() }
            if let v = Self.checkNumber(n, d) { return v }
        case .string where n.checksStrings:
            if let v = checkString(n, range) { return v }
        case .object where n.checksObjects:
            if let v = checkObject(n, range) { return v }
        case .array where n.checksArrays:
            if let v = checkArray(n, range) { return v }
        default: break
        }
        if n.inPlace { return checkInPlace(n, range) }
        return nil
    }

    /// Is the value valid (for `anyOf`, `oneOf`, `not`, `if`, `contains`)?
    private mutating func valid(_ n: SchemaNode, _ range: Range<Int>) -> Bool { check(n, range) == nil }

    private static func name(_ kind: TypeSet) -> String { kind.text }

    // MARK: numbers and strings

    static func checkNumber(_ n: SchemaNode, _ d: Double) -> SchemaViolation? {
        func show(_ x: Double) -> String { JSONValue.formatNumber(x) }
        if let m = n.minimum, d < m { return SchemaViolation("minimum", "\(show(d)) is less than \(show(m))") }
        if let m = n.maximum, d > m { return SchemaViolation("maximum", "\(show(d)) is greater than \(show(m))") }
        if let m = n.exclusiveMinimum, d <= m {
            return SchemaViolation("exclusiveMinimum", "\(show(d)) is not greater than \(show(m))")
        }
        if let m = n.exclusiveMaximum, d >= m {
            return SchemaViolation("exclusiveMaximum", "\(show(d)) is not less than \(show(m))")
        }
        if let m = n.multipleOf, !isMultiple(d, of: m) {
            return SchemaViolation("multipleOf", "\(show(d)) is not a multiple of \(show(m))")
        }
        return nil
    }

    /// Exact for integers; otherwise the quotient must be a whole number, as Python's
    /// `jsonschema` decides it (the differential test's reference).
    static func isMultiple(_ d: Double, of m: Double) -> Bool {
        if d == d.rounded(.towardZero) && m == m.rounded(.towardZero) && abs(d) < 9.007199254740992e15 {
            return d.truncatingRemainder(dividingBy: m) == 0
        }
        let q = d / m
        return q.isFinite && q == q.rounded(.towardZero)
    }

    private func checkString(_ n: SchemaNode, _ range: Range<Int>) -> SchemaViolation? {
        var i = range.lowerBound
        let (ok, plain) = bytes.skipString(&i, range.upperBound)
        guard ok else { return Self.malformed() }
        var decoded: String?
        if n.minLength != nil || n.maxLength != nil {
            let length: Int
            if plain {
                length = range.count - 2
            } else {
                guard let s = bytes.string(range, plain: false) else { return Self.malformed() }
                decoded = s
                length = s.unicodeScalars.count
            }
            if let m = n.minLength, length < m {
                return SchemaViolation("minLength", "\(length) characters, fewer than \(m)")
            }
            if let m = n.maxLength, length > m {
                return SchemaViolation("maxLength", "\(length) characters, more than \(m)")
            }
        }
        if let p = n.pattern {
            guard let s = decoded ?? bytes.string(range, plain: plain) else { return Self.malformed() }
            if !p.matches(s) { return SchemaViolation("pattern", "does not match \(p.source)") }
        }
        return nil
    }

    // MARK: objects

    private mutating func checkObject(_ n: SchemaNode, _ range: Range<Int>) -> SchemaViolation? {
        let b = bytes.b
        var members = InstanceBytes.Members(bytes, range)
        var count = 0
        var seen = RequiredSeen(n.required.count)
        let keepKeys = !n.dependentRequired.isEmpty || !n.dependentSchemas.isEmpty
        var keys: [[UInt8]] = []
        while let m = members.next() {
            count += 1
            var v: SchemaViolation?
            if m.keyPlain {
                let key = UnsafeRawBufferPointer(rebasing: b[m.key])
                v = checkMember(n, key, m.value, &seen)
                if keepKeys { keys.append(Array(key)) }
            } else {
                let quoted = UnsafeRawBufferPointer(rebasing: b[m.key.lowerBound - 1..<m.key.upperBound + 1])
                guard var s = JSONValue.parseString(quoted) else { return Self.malformed() }
                v = s.withUTF8 { u in checkMember(n, UnsafeRawBufferPointer(u), m.value, &seen) }
                if keepKeys { keys.append(Array(s.utf8)) }
            }
            if let v { return v }
        }
        if members.failed { return Self.malformed() }
        if let missing = seen.firstMissing() {
            return SchemaViolation("required", "missing required property \(Self.quoted(n.required.names[missing]))")
        }
        if let m = n.minProperties, count < m {
            return SchemaViolation("minProperties", "\(count) properties, fewer than \(m)")
        }
        if let m = n.maxProperties, count > m {
            return SchemaViolation("maxProperties", "\(count) properties, more than \(m)")
        }
        for (key, required) in n.dependentRequired where keys.contains(key) {
            for r in required where !keys.contains(r) {
                return SchemaViolation("dependentRequired",
                                       "property \(Self.quoted(r)) is required when \(Self.quoted(key)) is present")
            }
        }
        for (key, node) in n.dependentSchemas where keys.contains(key) {
            if let v = check(node, range) { return v }
        }
        return nil
    }

    /// Which `required` names an object has shown so far: bits for the first 64, an array beyond.
    struct RequiredSeen {
        let count: Int
        var bits: UInt64 = 0
        var more: [Bool] = []

        init(_ count: Int) {
            self.count = count
            if count > 64 { more = Array(repeating: false, count: count - 64) }
        }

        mutating func mark(_ i: Int) { if i < 64 { bits |= 1 << UInt64(i) } else { more[i - 64] = true } }

        func firstMissing() -> Int? {
            for i in 0..<count where !(i < 64 ? bits & (1 << UInt64(i)) != 0 : more[i - 64]) { return i }
            return nil
        }
    }

    /// One member against `properties`, `patternProperties`, `additionalProperties` and
    /// `propertyNames`, and counted for `required`.
    private mutating func checkMember(_ n: SchemaNode, _ key: UnsafeRawBufferPointer, _ value: Range<Int>,
                                      _ seen: inout RequiredSeen) -> SchemaViolation? {
        if seen.count > 0, let r = n.required.index(of: key) { seen.mark(r) }
        var matched = false
        var name: String?
        func memberName() -> String {
            if let name { return name }
            let s = String(decoding: key, as: UTF8.self)
            name = s
            return s
        }
        if let p = n.propertyKeys.index(of: key) {
            matched = true
            let node = n.propertyNodes[p]
            if let v = check(node, value) {
                let why = node.always == false ? SchemaViolation("properties", "property not allowed") : v
                return why.under(n.propertyKeys.names[p])
            }
        }
        if n.hasPatternProperties {
            let s = memberName()
            for (pattern, node) in n.patternProperties where pattern.matches(s) {
                matched = true
                if let v = check(node, value) {
                    let why = node.always == false ? SchemaViolation("patternProperties", "property not allowed") : v
                    return why.under(s)
                }
            }
        }
        if !matched, let extra = n.additionalProperties, let v = check(extra, value) {
            let s = memberName()
            let why = extra.always == false ? SchemaViolation("additionalProperties", "property not allowed") : v
            return why.under(s)
        }
        if let names = n.propertyNames {
            var quoted: [UInt8] = []
            JSONValue.appendQuoted(memberName(), to: &quoted)
            let v = quoted.withUnsafeBytes { q -> SchemaViolation? in
                var inner = Validator(q)
                return inner.check(names, 0..<q.count)
            }
            if let v { return SchemaViolation("propertyNames", "name \(Self.quoted(memberName())): \(v.message)") }
        }
        return nil
    }

    static func quoted(_ name: [UInt8]) -> String { JSONValue.quote(String(decoding: name, as: UTF8.self)) }

    static func quoted(_ name: String) -> String { JSONValue.quote(name) }

    // MARK: arrays

    private mutating func checkArray(_ n: SchemaNode, _ range: Range<Int>) -> SchemaViolation? {
        var elements = InstanceBytes.Elements(bytes, range)
        var count = 0
        var containing = 0
        var ranges: [Range<Int>] = []
        while let e = elements.next() {
            if count < n.prefixItems.count {
                let node = n.prefixItems[count]
                if let v = check(node, e) {
                    return (node.always == false ? SchemaViolation("prefixItems", "no item allowed here") : v)
                        .under(String(count))
                }
            } else if let items = n.items, let v = check(items, e) {
                return (items.always == false ? SchemaViolation("items", "no more items allowed") : v)
                    .under(String(count))
            }
            if let c = n.contains, valid(c, e) { containing += 1 }
            if n.uniqueItems { ranges.append(e) }
            count += 1
        }
        if elements.failed { return Self.malformed() }
        if let m = n.minItems, count < m { return SchemaViolation("minItems", "\(count) items, fewer than \(m)") }
        if let m = n.maxItems, count > m { return SchemaViolation("maxItems", "\(count) items, more than \(m)") }
        if n.contains != nil {
            let least = n.minContains ?? 1
            if containing < least {
                return SchemaViolation(n.minContains == nil ? "contains" : "minContains",
                                       "\(containing) items match contains, fewer than \(least)")
            }
            if let most = n.maxContains, containing > most {
                return SchemaViolation("maxContains", "\(containing) items match contains, more than \(most)")
            }
        }
        if n.uniqueItems && ranges.count > 1 {
            var values: [JSONValue] = []
            for r in ranges {
                guard let v = bytes.value(r) else { return Self.malformed() }
                if let j = values.firstIndex(where: { JSONEquality.equal($0, v) }) {
                    return SchemaViolation("uniqueItems", "items \(j) and \(values.count) are equal")
                }
                values.append(v)
            }
        }
        return nil
    }

    // MARK: in place

    /// No alternative matched: says why the closest one failed (the failure deepest in the
    /// value, preferring one past a mere type mismatch), so a model can correct itself.
    static func none(_ keyword: String, _ failures: [SchemaViolation]) -> SchemaViolation {
        func rank(_ v: SchemaViolation) -> Int {
            v.reversedPath.count * 2 + (v.keyword == "type" || v.keyword == "false" ? 0 : 1)
        }
        let closest = failures.enumerated().max { a, b in
            rank(a.element) != rank(b.element) ? rank(a.element) < rank(b.element) : a.offset > b.offset
        }!.element
        let path = closest.instancePath
        let inner = (path.isEmpty ? "" : path + ": ") + closest.keyword + ": " + closest.message
        return SchemaViolation(keyword, "matches none of the \(failures.count) alternatives (closest: \(inner))")
    }

    private mutating func checkInPlace(_ n: SchemaNode, _ range: Range<Int>) -> SchemaViolation? {
        depth += 1
        defer { depth -= 1 }
        guard depth < Self.maxDepth else { return SchemaViolation("$ref", "schema nesting too deep") }
        if let r = n.ref, let v = check(r, range) { return v }
        for s in n.allOf { if let v = check(s, range) { return v } }
        if !n.anyOf.isEmpty {
            var failures: [SchemaViolation] = []
            for s in n.anyOf {
                guard let v = check(s, range) else { failures = []; break }
                failures.append(v)
            }
            if !failures.isEmpty { return Self.none("anyOf", failures) }
        }
        if !n.oneOf.isEmpty {
            var matching = 0
            var failures: [SchemaViolation] = []
            for s in n.oneOf {
                if let v = check(s, range) { failures.append(v); continue }
                matching += 1
                if matching > 1 { return SchemaViolation("oneOf", "matches more than one alternative") }
            }
            if matching == 0 { return Self.none("oneOf", failures) }
        }
        if let s = n.not, valid(s, range) { return SchemaViolation("not", "must not match the schema in not") }
        if let condition = n.ifNode {
            if valid(condition, range) {
                if let t = n.thenNode, let v = check(t, range) { return v }
            } else if let e = n.elseNode, let v = check(e, range) {
                return v
            }
        }
        return nil
    }
}
