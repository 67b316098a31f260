import MCPCore

/// A client capability a request handler may need (MCP ClientCapabilities keys).
public enum ClientCapability: String, Sendable, CaseIterable {
    case sampling, elicitation, roots
}

/// One input a handler asks the client for: an elicitation, a sampling request or a roots
/// listing. In the legacy era it becomes a server-to-client request (REQUEST frame); in the
/// modern era an entry of an input-required result, under `key`.
public struct InputRequest: Sendable, Equatable {
    /// The name the input is asked and answered under (the key of `inputRequests` and
    /// `inputResponses`); unique within one request.
    public var key: String
    /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
    public var method: String
    public var params: JSONValue

    public init(key: String, method: String, params: JSONValue) {
        self.key = key; self.method = method; self.params = params
    }

    /// A form elicitation: `message` and a flat JSON Schema object of primitive properties.
    public static func elicitation(key: String, message: String, schema: JSONValue) -> InputRequest {
        InputRequest(key: key, method: "elicitation/create",
                     params: .object(["message": .string(message), "requestedSchema": schema]))
    }

    /// A sampling request with the given messages (MCP SamplingMessage objects).
    public static func sampling(key: String, messages: [JSONValue], maxTokens: Int,
                                systemPrompt: String? = nil) -> InputRequest {
        var p: [String: JSONValue] = ["messages": .array(messages), "maxTokens": .number(Double(maxTokens))]
        if let systemPrompt { p["systemPrompt"] = .string(systemPrompt) }
        return InputRequest(key: key, method: "sampling/createMessage", params: .object(p))
    }

    /// A sampling request with one user text message.
    public static func sampling(key: String, prompt: String, maxTokens: Int) -> InputRequest {
        let content = JSONValue.object(["type": .string("text"), "text": .string(prompt)])
        return sampling(key: key, messages: [.object(["role": .string("user"), "content": content])],
                        maxTokens: maxTokens)
    }

    public static func roots(key: String) -> InputRequest {
        InputRequest(key: key, method: "roots/list", params: .object([:]))
    }

    /// The client capability the method needs, if it is one of the three known ones.
    public var capability: ClientCapability? {
        switch method {
        case "elicitation/create": return .elicitation
        case "sampling/createMessage": return .sampling
        case "roots/list": return .roots
        default: return nil
        }
    }

    /// `{"method":..., "params":...}`, as listed in `inputRequests`.
    var json: JSONValue { .object(["method": .string(method), "params": params]) }

    /// Whether `response` has the shape of this method's result; one that does not is asked again.
    func accepts(_ response: JSONValue) -> Bool {
        guard case .object(let o) = response else { return false }
        switch method {
        case "elicitation/create": return ElicitResult(o) != nil
        case "sampling/createMessage":
            if case .object? = o["content"] { return true }
            if case .array? = o["content"] { return true }
            return false
        case "roots/list":
            if case .array? = o["roots"] { return true }
            return false
        default:
            return true
        }
    }
}

/// The client's answer to an elicitation (MCP ElicitResult).
public struct ElicitResult: Sendable, Equatable {
    /// `accept`, `decline` or `cancel`.
    public var action: String
    /// The submitted form values, for `accept`.
    public var content: [String: JSONValue]?

    public var accepted: Bool { action == "accept" }

    public init(action: String, content: [String: JSONValue]? = nil) {
        self.action = action; self.content = content
    }

    init?(_ o: [String: JSONValue]) {
        guard case .string(let a)? = o["action"], ["accept", "decline", "cancel"].contains(a) else { return nil }
        switch o["content"] {
        case nil, .null?: self.init(action: a)
        case .object(let c)?: self.init(action: a, content: c)
        default: return nil
        }
    }

    /// A string member of `content`.
    public func string(_ key: String) -> String? { content?[key]?.stringValue }
}

/// The client's answer to a sampling request (MCP CreateMessageResult), kept whole.
public struct SamplingResult: Sendable, Equatable {
    public var raw: JSONValue

    public init(raw: JSONValue) { self.raw = raw }

    /// The text of the (first) text content block, if any.
    public var text: String? {
        switch raw["content"] {
        case .object(let c)?: return c["text"]?.stringValue
        case .array(let list)?:
            for c in list { if let t = c["text"]?.stringValue { return t } }
            return nil
        default: return nil
        }
    }

    public var model: String? { raw["model"]?.stringValue }
}

/// A root the client exposes (MCP Root).
public struct Root: Sendable, Equatable {
    public var uri: String
    public var name: String?

    static func list(_ result: JSONValue) -> [Root] {
        guard case .array(let list)? = result["roots"] else { return [] }
        return list.compactMap { r in r["uri"]?.stringValue.map { Root(uri: $0, name: r["name"]?.stringValue) } }
    }
}

/// Thrown (modern era) by the input API when the client must first supply inputs: the SDK
/// ends the request with an input-required result. A handler that catches errors broadly must
/// rethrow this one.
public struct InputRequired: Error, Sendable {
    public var keys: [String]
}

/// The handler needs a client capability the client did not declare. Modern era: the request
/// ends with ERROR -32021 and `data.requiredCapabilities`; legacy: a tool execution error,
/// unless the handler catches it.
public struct MissingClientCapability: Error, Sendable, Equatable {
    public var capabilities: [ClientCapability]
}

/// The client answered a server-to-client request (legacy era) with a JSON-RPC error.
public struct ClientRequestFailed: Error, Sendable, Equatable {
    public var code: Int
    public var message: String
}

/// A JSON-RPC error for the request (an ERROR frame), which a handler may also throw itself.
public struct RequestError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code; self.message = message; self.data = data
    }

    public static func invalidParams(_ message: String, data: JSONValue? = nil) -> RequestError {
        RequestError(code: -32602, message: message, data: data)
    }

    public static func internalError(_ message: String) -> RequestError { RequestError(code: -32603, message: message) }

    /// -32021 with `data.requiredCapabilities` an object of the missing capabilities.
    public static func missingCapability(_ caps: [ClientCapability]) -> RequestError {
        var o: [String: JSONValue] = [:]
        for c in caps { o[c.rawValue] = .object([:]) }
        return RequestError(code: -32021, message: "Missing required client capability",
                            data: .object(["requiredCapabilities": .object(o)]))
    }

    /// -32602 `Resource not found: URI` with `data.uri`.
    public static func resourceNotFound(_ uri: String) -> RequestError {
        RequestError(code: -32602, message: "Resource not found: \(uri)", data: .object(["uri": .string(uri)]))
    }

    /// The ERROR frame payload.
    public var json: String {
        var o: [String: JSONValue] = ["code": .number(Double(code)), "message": .string(message)]
        if let data { o["data"] = data }
        return JSONValue.object(o).compactJSON()
    }
}
