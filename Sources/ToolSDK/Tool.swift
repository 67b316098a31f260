import MCPCore
import WireProtocol

/// In which MCP era a catalog entry is listed and callable. Served in the entry's
/// `_meta["io.switchyard/era"]` (`"legacy"` or `"modern"`; absent = both): fronts filter
/// `tools/list`, `prompts/list`, `resources/list` and `resources/templates/list` by it, and the
/// executor answers a request from the other era as it answers an unknown name.
public enum Availability: String, Sendable {
    case both, legacy, modern

    public func includes(_ era: CallContext.Era) -> Bool {
        switch self {
        case .both: return true
        case .legacy: return era == .legacy
        case .modern: return era == .modern
        }
    }

    /// The catalog `_meta` key that carries it.
    public static let metaKey = "io.switchyard/era"

    func addMeta(to meta: inout [String: JSONValue]) {
        if self != .both { meta[Availability.metaKey] = .string(rawValue) }
    }
}

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

/// Whose a cached result of a tool is (`_meta["io.switchyard/cacheScope"]`).
public enum CacheScope: String, Sendable {
    /// Each principal gets only results computed for it (anonymous callers share theirs).
    case perPrincipal
    /// One result for every caller: the tool's answer does not depend on who asks.
    case shared
}

/// One tool: what clients see in tools/list, and the handler that runs a call.
public struct Tool: Sendable {
    public typealias Handler = @Sendable (ToolCall) async throws -> ToolResult
    /// A handler that finishes without suspending (see `Tool.immediate(…)`).
    public typealias ImmediateHandler = @Sendable (ToolCall) throws -> ToolResult

    public var name: String
    public var title: String?
    public var description: String
    /// A JSON Schema object for the arguments.
    public var inputSchema: JSONValue
    public var outputSchema: JSONValue?
    public var annotations: ToolAnnotations?
    /// The last good result may answer while every executor of this tool is down (flagged stale).
    /// It makes no result fresh: that is `cacheTtlMs`.
    public var staleOnError: Bool
    /// How long a successful result stays fresh at the fronts (ms): a call with the same arguments
    /// within it is answered from their cache. Only for tools annotated `readOnlyHint` and
    /// `idempotentHint` (the initializer checks); never implied by them.
    public var cacheTtlMs: Int?
    /// Whose a cached result is: each principal's own (the default), or every caller's.
    public var cacheScope: CacheScope
    /// Default call timeout for this tool (ms); the front's `--tool-timeout` overrides it.
    public var timeoutMs: Int?
    /// The era(s) it is listed and callable in.
    public var availableIn: Availability
    /// Extra members of the catalog entry's `_meta`.
    public var meta: [String: JSONValue]
    /// The handler never blocks and takes microseconds: calls with small arguments run on the
    /// link's loop thread, saving two thread hops each. A handler that blocks while marked so
    /// stalls every call of the executor (and its heartbeat, which gets it restarted).
    public var nonBlocking: Bool
    /// Replacing it makes the tool an ordinary one (it clears `immediateHandler`).
    public var handler: Handler { didSet { immediateHandler = nil } }
    /// Set by `Tool.immediate(…)`: calls with small arguments run it on the link's loop
    /// thread with no task at all (`handler` calls it everywhere else).
    public internal(set) var immediateHandler: ImmediateHandler?

    public init(name: String, title: String? = nil, description: String, inputSchema: JSONValue,
                outputSchema: JSONValue? = nil, annotations: ToolAnnotations? = nil,
                staleOnError: Bool = false, timeoutMs: Int? = nil, cacheTtlMs: Int? = nil,
                cacheScope: CacheScope = .perPrincipal, availableIn: Availability = .both,
                meta: [String: JSONValue] = [:], nonBlocking: Bool = false, handler: @escaping Handler) {
        precondition(Tool.isValidName(name), "tool names are 1-64 characters of A-Z a-z 0-9 _ - .")
        self.name = name; self.title = title; self.description = description
        self.inputSchema = inputSchema; self.outputSchema = outputSchema
        precondition(cacheTtlMs == nil || (annotations?.readOnlyHint == true && annotations?.idempotentHint == true),
                     "tool \(name): cacheTtlMs needs annotations readOnlyHint and idempotentHint")
        precondition(cacheTtlMs.map { $0 >= 1 && $0 <= 86_400_000 } ?? true, "tool \(name): cacheTtlMs is 1...86400000")
        self.annotations = annotations; self.staleOnError = staleOnError; self.timeoutMs = timeoutMs
        self.cacheTtlMs = cacheTtlMs; self.cacheScope = cacheScope
        self.availableIn = availableIn; self.meta = meta
        self.nonBlocking = nonBlocking; self.handler = handler
    }

    /// A tool whose handler never suspends, blocks or waits: microseconds of computation on
    /// its arguments. Such a call runs to its result as the CALL frame is read, with no task,
    /// which takes about 40% off the executor's CPU time per small call. It cannot ask the
    /// client for input (elicitation, sampling and roots need `async`); progress and log
    /// messages work. A factory, not an initializer: `Tool(…) { call in … }` with a closure
    /// that does not `await` must keep meaning an ordinary handler.
    public static func immediate(name: String, title: String? = nil, description: String, inputSchema: JSONValue,
                                 outputSchema: JSONValue? = nil, annotations: ToolAnnotations? = nil,
                                 staleOnError: Bool = false, timeoutMs: Int? = nil, cacheTtlMs: Int? = nil,
                                 cacheScope: CacheScope = .perPrincipal, availableIn: Availability = .both,
                                 meta: [String: JSONValue] = [:], _ handler: @escaping ImmediateHandler) -> Tool {
        var t = Tool(name: name, title: title, description: description, inputSchema: inputSchema,
                     outputSchema: outputSchema, annotations: annotations, staleOnError: staleOnError, timeoutMs: timeoutMs,
                     cacheTtlMs: cacheTtlMs, cacheScope: cacheScope,
                     availableIn: availableIn, meta: meta, nonBlocking: true, handler: { try handler($0) })
        t.immediateHandler = handler
        return t
    }

    /// MCP tool name rules, kept to what every client accepts: 1-64 of [A-Za-z0-9_.-].
    public static func isValidName(_ name: String) -> Bool {
        let u = name.utf8
        return (1...64).contains(u.count) && u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x5F || c == 0x2D || c == 0x2E
        }
    }

    /// The MCP Tool object served in tools/list.
    public var catalogJSON: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name), "description": .string(description),
                                      "inputSchema": inputSchema]
        if let title { o["title"] = .string(title) }
        if let outputSchema { o["outputSchema"] = outputSchema }
        if let annotations { o["annotations"] = annotations.json }
        var meta = self.meta
        availableIn.addMeta(to: &meta)
        if staleOnError { meta["io.switchyard/staleOnError"] = .bool(true) }
        if let timeoutMs { meta["io.switchyard/timeoutMs"] = .number(Double(timeoutMs)) }
        if let cacheTtlMs { meta["io.switchyard/cacheTtlMs"] = .number(Double(cacheTtlMs)) }
        if cacheTtlMs != nil, cacheScope == .shared { meta["io.switchyard/cacheScope"] = .string("shared") }
        if !meta.isEmpty { o["_meta"] = .object(meta) }
        return .object(o)
    }
}

/// What a tool handler receives: the arguments, and through `RequestHandle` the era, client
/// capabilities, progress, logging and the input API (elicit, sample, listRoots).
public struct ToolCall: RequestHandle {
    public var name: String
    public var arguments: [String: JSONValue]
    public let request: RequestContext

    /// The request's `_meta` (progress token and the like), when present.
    public var meta: JSONValue? { request.context.requestMeta }

    public init(name: String, arguments: [String: JSONValue], request: RequestContext) {
        self.name = name; self.arguments = arguments; self.request = request
    }

    /// A legacy-era call with the given `_meta`, for tests and local use.
    public init(name: String, arguments: [String: JSONValue], meta: JSONValue? = nil,
                emit: @escaping @Sendable (CallEvent) -> Void = { _ in }) {
        self.init(name: name, arguments: arguments,
                  request: RequestContext(context: CallContext(requestMeta: meta), subject: "tool:" + name, emit: emit))
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

/// A content block of a tool result or prompt message (MCP ContentBlock).
public enum ToolContent: Sendable, Equatable {
    case text(String)
    /// Base64 image data.
    case image(base64: String, mimeType: String)
    /// Base64 audio data.
    case audio(base64: String, mimeType: String)
    /// An embedded resource.
    case resource(ResourceContents)
    /// A link to a resource the client may read.
    case resourceLink(uri: String, name: String, description: String? = nil, mimeType: String? = nil)
    /// Any other block, as its JSON object.
    case raw(JSONValue)

    public var json: JSONValue {
        switch self {
        case .text(let t): return .object(["type": .string("text"), "text": .string(t)])
        case .image(let d, let m):
            return .object(["type": .string("image"), "data": .string(d), "mimeType": .string(m)])
        case .audio(let d, let m):
            return .object(["type": .string("audio"), "data": .string(d), "mimeType": .string(m)])
        case .resource(let c): return .object(["type": .string("resource"), "resource": c.json])
        case .resourceLink(let uri, let name, let description, let mimeType):
            var o: [String: JSONValue] = ["type": .string("resource_link"), "uri": .string(uri), "name": .string(name)]
            if let description { o["description"] = .string(description) }
            if let mimeType { o["mimeType"] = .string(mimeType) }
            return .object(o)
        case .raw(let v): return v
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
    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The bytes of `json`, written directly: the same bytes as the sorted-key writer
    /// (`content` < `isError` < `structuredContent`; `text` < `type`).
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48 + (content.first.map { if case .text(let t) = $0 { t.utf8.count } else { 0 } } ?? 0))
        out.append(literal: "{\"content\":[")
        for (i, block) in content.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if case .text(let t) = block {
                out.append(literal: "{\"text\":")
                JSONValue.appendQuoted(t, to: &out)
                out.append(literal: ",\"type\":\"text\"}")
            } else {
                block.json.write(into: &out)
            }
        }
        if isError { out.append(literal: "],\"isError\":true") } else { out.append(literal: "],\"isError\":false") }
        if let structuredContent {
            out.append(literal: ",\"structuredContent\":")
            structuredContent.write(into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
