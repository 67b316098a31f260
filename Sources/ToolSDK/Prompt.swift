import MCPCore

/// An argument a prompt takes (MCP PromptArgument).
public struct PromptArgument: Sendable {
    public var name: String
    public var description: String?
    public var required: Bool

    public init(_ name: String, description: String? = nil, required: Bool = false) {
        self.name = name; self.description = description; self.required = required
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name)]
        if let description { o["description"] = .string(description) }
        if required { o["required"] = .bool(true) }
        return .object(o)
    }
}

/// One message of a prompt (MCP PromptMessage).
public struct PromptMessage: Sendable, Equatable {
    public enum Role: String, Sendable { case user, assistant }
    public var role: Role
    public var content: ToolContent

    public init(_ role: Role, _ content: ToolContent) { self.role = role; self.content = content }
    public static func user(_ content: ToolContent) -> PromptMessage { PromptMessage(.user, content) }
    public static func user(_ text: String) -> PromptMessage { PromptMessage(.user, .text(text)) }
    public static func assistant(_ text: String) -> PromptMessage { PromptMessage(.assistant, .text(text)) }

    var json: JSONValue { .object(["role": .string(role.rawValue), "content": content.json]) }
}

/// An MCP GetPromptResult.
public struct PromptResult: Sendable, Equatable {
    public var description: String?
    public var messages: [PromptMessage]

    public init(description: String? = nil, messages: [PromptMessage]) {
        self.description = description; self.messages = messages
    }

    /// Compact JSON for the RESULT frame.
    public var json: String {
        var o: [String: JSONValue] = ["messages": .array(messages.map(\.json))]
        if let description { o["description"] = .string(description) }
        return JSONValue.object(o).compactJSON()
    }
}

/// What a prompt handler receives.
public struct PromptCall: RequestHandle {
    public var name: String
    /// The client's arguments; non-string values arrive as their JSON text.
    public var arguments: [String: String]
    public let request: RequestContext

    public init(name: String, arguments: [String: String], request: RequestContext) {
        self.name = name; self.arguments = arguments; self.request = request
    }

    /// An argument's value, or "" when absent (required ones are checked before the handler runs).
    public subscript(_ key: String) -> String { arguments[key] ?? "" }
}

/// One prompt listed in `prompts/list`, rendered by `prompts/get` (CALL kind 3).
public struct Prompt: Sendable {
    public typealias Handler = @Sendable (PromptCall) async throws -> PromptResult

    public var name: String
    public var title: String?
    public var description: String
    public var arguments: [PromptArgument]
    public var availableIn: Availability
    /// Completes an argument (`completion/complete` with `ref/prompt`).
    public var complete: CompletionRequest.Handler?
    public var handler: Handler

    public init(name: String, title: String? = nil, description: String, arguments: [PromptArgument] = [],
                availableIn: Availability = .both, complete: CompletionRequest.Handler? = nil,
                handler: @escaping Handler) {
        self.name = name; self.title = title; self.description = description; self.arguments = arguments
        self.availableIn = availableIn; self.complete = complete; self.handler = handler
    }

    /// The MCP Prompt object served in `prompts/list`.
    public var catalogJSON: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name), "description": .string(description)]
        if let title { o["title"] = .string(title) }
        if !arguments.isEmpty { o["arguments"] = .array(arguments.map(\.json)) }
        var meta: [String: JSONValue] = [:]
        availableIn.addMeta(to: &meta)
        if !meta.isEmpty { o["_meta"] = .object(meta) }
        return .object(o)
    }
}
