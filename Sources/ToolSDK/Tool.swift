import MCPCore

/// Hints a client may show or act on (MCP ToolAnnotations).
public struct ToolAnnotations: Sendable {
    public var title: String?
    public var readOnlyHint: Bool?
    public var destructiveHint: Bool?
    public var idempotentHint: Bool?
    public var openWorldHint: Bool?

    public init(title: String? = nil, readOnlyHint: Bool? = nil, destructiveHint: Bool? = nil,
                idempotentHint: Bool? = nil, openWorldHint: Bool? = nil) {
        self.title = title; self.readOnlyHint = readOnlyHint; self.destructiveHint = destructiveHint
        self.idempotentHint = idempotentHint; self.openWorldHint = openWorldHint
    }

    var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if let title { o["title"] = .string(title) }
        if let readOnlyHint { o["readOnlyHint"] = .bool(readOnlyHint) }
        if let destructiveHint { o["destructiveHint"] = .bool(destructiveHint) }
        if let idempotentHint { o["idempotentHint"] = .bool(idempotentHint) }
        if let openWorldHint { o["openWorldHint"] = .bool(openWorldHint) }
        return .object(o)
    }
}

/// One tool: what clients see in tools/list, and the handler that runs a call.
public struct Tool: Sendable {
    public typealias Handler = @Sendable (ToolCall) async throws -> ToolResult

    public var name: String
    public var title: String?
    public var description: String
    /// A JSON Schema object for the arguments.
    public var inputSchema: JSONValue
    public var outputSchema: JSONValue?
    public var annotations: ToolAnnotations?
    /// The last good result may answer while every executor of this tool is down (flagged stale).
    public var cacheable: Bool
    /// Default call timeout for this tool (ms); the front's `--tool-timeout` overrides it.
    public var timeoutMs: Int?
    public var handler: Handler

    public init(name: String, title: String? = nil, description: String, inputSchema: JSONValue,
                outputSchema: JSONValue? = nil, annotations: ToolAnnotations? = nil,
                cacheable: Bool = false, timeoutMs: Int? = nil, handler: @escaping Handler) {
        precondition(Tool.isValidName(name), "tool names are 1-64 characters of A-Z a-z 0-9 _ - .")
        self.name = name; self.title = title; self.description = description
        self.inputSchema = inputSchema; self.outputSchema = outputSchema
        self.annotations = annotations; self.cacheable = cacheable; self.timeoutMs = timeoutMs
        self.handler = handler
    }

    /// MCP tool name rules, kept to what every client accepts: 1-64 of [A-Za-z0-9_.-].
    public static func isValidName(_ name: String) -> Bool {
        let u = name.utf8
        return (1...64).contains(u.count) && u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D || c == 0x2E
        }
    }

    /// The MCP Tool object served in tools/list.
    public var catalogJSON: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name), "description": .string(description), "inputSchema": inputSchema]
        if let title { o["title"] = .string(title) }
        if let outputSchema { o["outputSchema"] = outputSchema }
        if let annotations { o["annotations"] = annotations.json }
        var meta: [String: JSONValue] = [:]
        if cacheable { meta["io.switchyard/cacheable"] = .bool(true) }
        if let timeoutMs { meta["io.switchyard/timeoutMs"] = .number(Double(timeoutMs)) }
        if !meta.isEmpty { o["_meta"] = .object(meta) }
        return .object(o)
    }
}

/// What a handler receives.
public struct ToolCall: Sendable {
    public var name: String
    public var arguments: [String: JSONValue]
    /// The request's `_meta` (progress token and the like), when present.
    public var meta: JSONValue?
    /// Sends a frame about this call to the front (PROGRESS, NOTIFY).
    let report: @Sendable (FrameKind, String) -> Void

    /// The non-terminal frames a handler may send while it runs.
    public enum FrameKind: Sendable { case progress, notify }

    public init(name: String, arguments: [String: JSONValue], meta: JSONValue? = nil,
                report: @escaping @Sendable (FrameKind, String) -> Void = { _, _ in }) {
        self.name = name; self.arguments = arguments; self.meta = meta; self.report = report
    }

    /// Did the client ask for progress notifications (a `progressToken` in `_meta`)?
    public var wantsProgress: Bool { meta?["progressToken"] != nil }

    /// Reports progress; the front turns it into `notifications/progress` for the client when
    /// the client asked for it (and drops it otherwise).
    public func progress(_ progress: Double, total: Double? = nil, message: String? = nil) {
        var o: [String: JSONValue] = ["progress": .number(progress)]
        if let total { o["total"] = .number(total) }
        if let message { o["message"] = .string(message) }
        report(.progress, JSONValue.object(o).compactJSON())
    }

    /// Sends a log message (`notifications/message`) related to this call.
    public func log(_ level: String, _ data: JSONValue, logger: String? = nil) {
        var p: [String: JSONValue] = ["level": .string(level), "data": data]
        if let logger { p["logger"] = .string(logger) }
        report(.notify, JSONValue.object(["method": .string("notifications/message"), "params": .object(p)]).compactJSON())
    }

    public func string(_ key: String) throws -> String {
        guard case .string(let s)? = arguments[key] else { throw ToolError("argument '\(key)' must be a string") }
        return s
    }

    public func number(_ key: String) throws -> Double {
        guard case .number(let n)? = arguments[key] else { throw ToolError("argument '\(key)' must be a number") }
        return n
    }
}

/// Thrown by a handler to report a tool execution error (a result with isError: true).
public struct ToolError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A content block of a tool result.
public enum ToolContent: Sendable {
    case text(String)
    case image(base64: String, mimeType: String)

    var json: JSONValue {
        switch self {
        case .text(let t): return .object(["type": .string("text"), "text": .string(t)])
        case .image(let d, let m): return .object(["type": .string("image"), "data": .string(d), "mimeType": .string(m)])
        }
    }
}

/// An MCP CallToolResult.
public struct ToolResult: Sendable {
    public var content: [ToolContent]
    public var structuredContent: JSONValue?
    public var isError: Bool

    public init(content: [ToolContent], structuredContent: JSONValue? = nil, isError: Bool = false) {
        self.content = content; self.structuredContent = structuredContent; self.isError = isError
    }

    public static func text(_ s: String) -> ToolResult { ToolResult(content: [.text(s)]) }
    public static func error(_ s: String) -> ToolResult { ToolResult(content: [.text(s)], isError: true) }

    /// Compact JSON for the RESULT frame (no raw CR/LF).
    public var json: String {
        var o: [String: JSONValue] = ["content": .array(content.map(\.json)), "isError": .bool(isError)]
        if let structuredContent { o["structuredContent"] = structuredContent }
        return JSONValue.object(o).compactJSON()
    }
}
