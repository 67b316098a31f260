import MCPCore

/// Equality of JSON values as JSON Schema defines it (`enum`, `const`, `uniqueItems`): numbers
/// by value (1 and 1.0 are equal), strings by their code points, objects regardless of member
/// order, arrays element by element; a boolean is never a number.
enum JSONEquality {
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                // (Names are Swift Strings, compared up to canonical equivalence, as JSONValue keeps them.)
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        default: return false
        }
    }
}
