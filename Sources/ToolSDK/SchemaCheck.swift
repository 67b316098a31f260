import MCPCore

/// Checks arguments against the parts of a tool's JSON Schema that catch real mistakes:
/// the top-level type, required properties and each property's declared type.
/// A failure is reported to the client as a tool execution error, so a model can correct itself.
enum SchemaCheck {
    /// What `validate` looks at in a schema, taken out once per tool instead of on every call.
    struct Compiled: Sendable {
        let required: [String]
        /// Declared type of each property that has one; properties without one are allowed.
        let types: [String: String]
        let properties: Set<String>
        let closed: Bool // additionalProperties: false

        init(_ schema: JSONValue) {
            var required: [String] = []
            if case .array(let r)? = schema["required"] { for case .string(let k) in r { required.append(k) } }
            self.required = required
            var types: [String: String] = [:], properties = Set<String>()
            if case .object(let props)? = schema["properties"] {
                for (k, p) in props {
                    properties.insert(k)
                    if case .string(let t)? = p["type"] { types[k] = t }
                }
                closed = schema["additionalProperties"] == .bool(false)
            } else {
                closed = false // without properties, nothing beyond `required` is checked
            }
            self.types = types
            self.properties = properties
        }

        func validate(_ args: [String: JSONValue]) -> String? {
            for key in required where args[key] == nil { return "missing required argument '\(key)'" }
            for (key, value) in args {
                guard let type = types[key] else {
                    if closed && !properties.contains(key) { return "unexpected argument '\(key)'" }
                    continue
                }
                if !SchemaCheck.matches(value, type) { return "argument '\(key)' must be of type \(type)" }
            }
            return nil
        }

        /// The same checks on arguments as they lie in the frame: the member table the view was
        /// made with, and a scalar decoded only for `integer`. No tree is built.
        func validate(_ args: JSONView) -> String? {
            for key in required where args[key] == nil { return "missing required argument '\(key)'" }
            var problem: String?
            args.forEachMember { key, value in
                guard problem == nil else { return }
                guard let type = types[key] else {
                    if closed && !properties.contains(key) { problem = "unexpected argument '\(key)'" }
                    return
                }
                if !SchemaCheck.matches(value, type) { problem = "argument '\(key)' must be of type \(type)" }
            }
            return problem
        }
    }

    static func validate(_ args: [String: JSONValue], against schema: JSONValue) -> String? {
        Compiled(schema).validate(args)
    }

    static func matches(_ v: JSONView, _ type: String) -> Bool {
        switch (type, v.kind) {
        case ("string", .string), ("number", .number), ("boolean", .bool), ("object", .object),
             ("array", .array), ("null", .null):
            return true
        case ("integer", .number):
            guard let n = v.number else { return false }
            return n == n.rounded()
        default:
            return false
        }
    }

    static func matches(_ v: JSONValue, _ type: String) -> Bool {
        switch (type, v) {
        case ("string", .string), ("number", .number), ("boolean", .bool), ("object", .object),
             ("array", .array), ("null", .null):
            return true
        case ("integer", .number(let n)):
            return n == n.rounded()
        default:
            return false
        }
    }
}
