import MCPCore
import Synchronization
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
///
/// The arguments come two ways. `argumentsView` (and `argument(_:)`) reads them where they lie
/// in the CALL frame: no copy and no decoding beyond what is asked for, so a tool handed a
/// megabyte of text can pass it on without making a String of it. `arguments` is the decoded
/// dictionary, decoded on first use (once per call); `string(_:)` and `number(_:)` decode the one
/// member they read when the dictionary has not been asked for.
public struct ToolCall: RequestHandle {
    public var name: String
    /// The arguments, decoded (on first use; later reads share the same dictionary).
    public var arguments: [String: JSONValue] {
        get { storage.decoded }
        set { storage = ArgumentStorage(decoded: newValue) }
    }
    /// The arguments object as it lies in the CALL frame (the bytes stay alive as long as this
    /// view or any view taken from it).
    public var argumentsView: JSONView { storage.view }
    public let request: RequestContext
    private var storage: ArgumentStorage

    /// The request's `_meta` (progress token and the like), when present.
    public var meta: JSONValue? { request.context.requestMeta }

    public init(name: String, arguments: [String: JSONValue], request: RequestContext) {
        self.name = name; self.storage = ArgumentStorage(decoded: arguments); self.request = request
    }

    /// A call whose arguments are read from `argumentsView` (an object: what a link builds).
    public init(name: String, argumentsView: JSONView, request: RequestContext) {
        precondition(argumentsView.kind == .object, "a tool's arguments are an object")
        self.name = name; self.storage = ArgumentStorage(view: argumentsView); self.request = request
    }

    /// A legacy-era call with the given `_meta`, for tests and local use.
    public init(name: String, arguments: [String: JSONValue], meta: JSONValue? = nil,
                emit: @escaping @Sendable (CallEvent) -> Void = { _ in }) {
        self.init(name: name, arguments: arguments,
                  request: RequestContext(context: CallContext(requestMeta: meta), subject: "tool:" + name, emit: emit))
    }

    /// The argument `key` as it lies in the frame; nil when absent.
    public func argument(_ key: String) -> JSONView? { storage.view[key] }

    public func string(_ key: String) throws -> String {
        if let decoded = storage.decodedIfReady {
            guard case .string(let s)? = decoded[key] else { throw ToolError("argument '\(key)' must be a string") }
            return s
        }
        guard let s = argument(key)?.string else { throw ToolError("argument '\(key)' must be a string") }
        return s
    }

    public func number(_ key: String) throws -> Double {
        if let decoded = storage.decodedIfReady {
            guard case .number(let n)? = decoded[key] else { throw ToolError("argument '\(key)' must be a number") }
            return n
        }
        guard let n = argument(key)?.number else { throw ToolError("argument '\(key)' must be a number") }
        return n
    }
}

/// A call's arguments as a view, a dictionary, or both: the form it was made with, and the
/// other made on first use and kept (published once through an atomic pointer: no lock to
/// create or take per call). Thread: any.
final class ArgumentStorage: Sendable {
    private let givenView: JSONView?
    private let givenDecoded: [String: JSONValue]?
    /// `Unmanaged<Made>` bits, 0 until the other form is made. Ownership: one retain, released in deinit.
    private let made = Atomic<UInt>(0)

    private final class Made: Sendable {
        let view: JSONView?
        let decoded: [String: JSONValue]?
        init(view: JSONView?, decoded: [String: JSONValue]?) { self.view = view; self.decoded = decoded }
    }

    init(view: JSONView) { givenView = view; givenDecoded = nil }
    init(decoded: [String: JSONValue]) { givenView = nil; givenDecoded = decoded }

    deinit {
        let bits = made.load(ordering: .acquiring)
        if bits != 0 { Unmanaged<Made>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).release() }
    }

    private func other() -> Made {
        let bits = made.load(ordering: .acquiring)
        if bits != 0 { return Unmanaged<Made>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue() }
        let m: Made
        if let givenView {
            m = Made(view: nil, decoded: givenView.decoded.objectValue ?? [:])
        } else {
            let bytes = FrameBytes(JSONValue.object(givenDecoded ?? [:]).compactJSONBytes())
            // Compact JSON of an object: always a valid object.
            m = Made(view: (try? JSONView.object(bytes)) ?? JSONView.emptyObject, decoded: nil)
        }
        let mine = UInt(bitPattern: Unmanaged.passRetained(m).toOpaque())
        let (exchanged, original) = made.compareExchange(expected: 0, desired: mine, ordering: .acquiringAndReleasing)
        if exchanged { return m }
        // Another thread made it first: use theirs.
        Unmanaged<Made>.fromOpaque(UnsafeRawPointer(bitPattern: mine)!).release()
        return Unmanaged<Made>.fromOpaque(UnsafeRawPointer(bitPattern: original)!).takeUnretainedValue()
    }

    /// The dictionary when it exists already (given, or decoded by an earlier read).
    var decodedIfReady: [String: JSONValue]? {
        if let givenDecoded { return givenDecoded }
        return made.load(ordering: .acquiring) != 0 ? other().decoded : nil
    }

    var decoded: [String: JSONValue] { givenDecoded ?? other().decoded ?? [:] }
    var view: JSONView { givenView ?? other().view ?? JSONView.emptyObject }
}

extension JSONView {
    /// `{}`.
    static let emptyObject: JSONView = try! JSONView.object(FrameBytes(Array("{}".utf8)))
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
    /// The content blocks. A result made by `text(_: JSONView)` shows its text here decoded.
    public var content: [ToolContent] {
        get { if let viewText { return [.text(viewText.string ?? "")] } else { return blocks } }
        set { blocks = newValue; viewText = nil }
    }
    public var structuredContent: JSONValue?
    public var isError: Bool
    private var blocks: [ToolContent]
    /// The text of a one-block result that is a JSON string in a frame: written as it lies.
    private var viewText: JSONView?

    public init(content: [ToolContent], structuredContent: JSONValue? = nil, isError: Bool = false) {
        self.blocks = content; self.structuredContent = structuredContent; self.isError = isError
    }

    public static func text(_ s: String) -> ToolResult { ToolResult(content: [.text(s)]) }
    public static func error(_ s: String) -> ToolResult { ToolResult(content: [.text(s)], isError: true) }

    /// One text block whose text is `string`, a JSON string viewed in a frame (an argument): its
    /// literal goes into the RESULT frame as it lies, with no String made and no re-escaping; a
    /// large one (`OutgoingFrame.borrowThreshold`) is not even copied, but sent from the CALL
    /// frame's own bytes. Any other kind of value gives its compact JSON text as the text.
    public static func text(_ string: JSONView) -> ToolResult {
        guard string.kind == .string else { return .text(string.decoded.compactJSON()) }
        var r = ToolResult(content: [])
        r.viewText = string
        return r
    }

    /// Compact JSON for the RESULT frame (no raw CR/LF).
    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The bytes of `json`: the same bytes as the sorted-key writer
    /// (`content` < `isError` < `structuredContent`; `text` < `type`).
    public var jsonBytes: [UInt8] {
        let out = OutgoingFrame(capacity: encodedSizeHint)
        write(into: out)
        return out.payload
    }

    /// Bytes the encoded result takes when its first block is its text: the text and the fixed
    /// members (a capacity hint; a frame grows past it for anything more).
    var encodedSizeHint: Int {
        if let viewText { return 96 + (viewText.range.count < OutgoingFrame.borrowThreshold ? viewText.range.count : 0) }
        if case .text(let t)? = blocks.first { return 96 + t.utf8.count }
        return 96
    }

    /// Writes `json`'s bytes into a frame being built: text escaped straight in, a viewed text
    /// copied as it lies; nothing built on the side.
    public func write(into out: OutgoingFrame) {
        out.reserve(encodedSizeHint)
        out.append("{\"content\":[")
        if let viewText {
            out.append("{\"text\":")
            out.append(borrowing: viewText.bytes, range: viewText.range) // large: sent from the CALL frame
            out.append(",\"type\":\"text\"}")
        } else {
            for (i, block) in blocks.enumerated() {
                if i > 0 { out.append(byte: UInt8(ascii: ",")) }
                if case .text(let t) = block {
                    out.append("{\"text\":")
                    out.appendQuoted(t)
                    out.append(",\"type\":\"text\"}")
                } else {
                    out.append(json: block.json)
                }
            }
        }
        out.append(isError ? "],\"isError\":true" : "],\"isError\":false")
        if let structuredContent {
            out.append(",\"structuredContent\":")
            out.append(json: structuredContent)
        }
        out.append(byte: UInt8(ascii: "}"))
    }
}
