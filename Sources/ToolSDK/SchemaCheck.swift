import MCPCore

/// Checks arguments against the parts of a tool's JSON Schema that catch real mistakes:
/// the top-level type, required properties and each property's declared type.
/// A failure is reported to the client as a tool execution error, so a model can correct itself.
enum SchemaCheck {
    static func validate(_ args: [String: JSONValue], against schema: JSONValue) -> String? {
        if case .array(let required)? = schema["required"] {
            for case .string(let key) in required where args[key] == nil {
                return "missing required argument '\(key)'"
            }
        }
        guard case .object(let props)? = schema["properties"] else { return nil }
        for (key, value) in args {
            guard let prop = props[key], case .string(let type)? = prop["type"] else {
                if case .bool(false)? = schema["additionalProperties"], props[key] == nil {
                    return "unexpected argument '\(key)'"
                }
                continue
            }
            if !matches(value, type) { return "argument '\(key)' must be of type \(type)" }
        }
        return nil
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
