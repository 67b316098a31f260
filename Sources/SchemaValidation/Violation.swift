/// Why an instance fails its schema: where (a JSON pointer into the instance), which keyword,
/// and a short message. Validation stops at the first failure.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// Reference tokens from the failing value up to the root (reversed as the walk unwinds).
    var reversedPath: [String] = []
    /// The keyword that failed (`type`, `required`, `additionalProperties`, `anyOf`, ...).
    public let keyword: String
    public let message: String

    init(_ keyword: String, _ message: String) {
        self.keyword = keyword
        self.message = message
    }

    /// The failing value's location as a JSON pointer (RFC 6901): "" is the whole instance.
    public var instancePath: String {
        var out = ""
        for token in reversedPath.reversed() { out += "/" + JSONPointer.escape(token) }
        return out
    }

    /// `<path>: <keyword>: <message>`, with `(root)` for the whole instance.
    public var description: String {
        let path = instancePath
        return "\(path.isEmpty ? "(root)" : path): \(keyword): \(message)"
    }

    /// The same violation one level further down: `token` is the member name or index that led to it.
    func under(_ token: String) -> SchemaViolation {
        var v = self
        v.reversedPath.append(token)
        return v
    }
}

/// Why a schema cannot be compiled: where in the schema (a JSON pointer) and what is wrong.
/// Compilation never crashes on any input: every problem ends here.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public let schemaPath: String
    public let message: String

    public init(_ schemaPath: String, _ message: String) {
        self.schemaPath = schemaPath
        self.message = message
    }

    public var description: String { "invalid schema at \(schemaPath.isEmpty ? "(root)" : schemaPath): \(message)" }
}
