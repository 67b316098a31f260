import CLibUV
import CSupport
import EventLoop
import MCPCore
import Metrics
import WireProtocol

/// Runs one CALL of any kind against a pack and turns whatever happens into exactly one
/// terminal frame (RESULT or ERROR). No I/O: frames a running handler sends go to `emit`.
/// Thread: any (runs in the call's task).
enum CallRunner {
    typealias Emit = @Sendable (CallEvent) -> Void
    /// A terminal frame: its type and payload.
    typealias Terminal = (FrameType, ResultPayload)

    /// `decoded`: the call's context when the caller decoded it already.
    static func run(_ call: CallView, decoded: CallContext? = nil, index: PackIndex,
                    emit: @escaping Emit) async -> Terminal {
        let context: CallContext
        if let decoded { context = decoded } else {
            do { context = try CallContext.decode(call.metaBytes) } catch {
                return wrap(failure(.invalidParams(error == .notAnObject ? "meta must be a JSON object"
                                                                         : "invalid meta: \(error)")))
            }
        }
        switch call.knownKind {
        case .tool?: return await runTool(call, context: context, index: index, emit: emit)
        case .resource?: return wrap(await readResource(call.nameString, context: context, index: index, emit: emit))
        case .prompt?: return wrap(await getPrompt(call, context: context, index: index, emit: emit))
        case .completion?: return wrap(await complete(call, context: context, index: index, emit: emit))
        case nil: return wrap(failure(RequestError(code: -32601, message: "Unsupported call kind: \(call.kind)")))
        }
    }

    static func wrap(_ t: (FrameType, [UInt8])) -> Terminal { (t.0, .bytes(t.1)) }

    // MARK: kinds

    static func runTool(_ call: CallView, context: CallContext, index: PackIndex,
                        emit: @escaping Emit) async -> Terminal {
        let name = call.nameString
        guard let entry = index.tool(name, era: context.era) else {
            return wrap(failure(.invalidParams("Unknown tool: \(name)")))
        }
        return await runTool(entry.tool, call, context: context, timer: entry.executionTimer, schema: entry.schema,
                             emit: emit)
    }

    static func runTool(_ tool: Tool, _ call: CallView, context: CallContext, timer: Histogram? = nil,
                        schema: SchemaCheck.Compiled? = nil, emit: @escaping Emit) async -> Terminal {
        let toolCall: ToolCall
        switch prepare(tool, call, context: context, schema: schema, emit: emit) {
        case .success(let c): toolCall = c
        case .failure(let answer): return wrap(answer.frame)
        }
        let started = uv_hrtime()
        let timer = timer ?? Metrics.histogram(.toolExecutionSeconds, tool.name)
        defer { timer.observe(uv_hrtime() &- started) }
        return await handlePayload(toolCall.request, isTool: true, name: tool.name) {
            .frame(encoded(try await tool.handler(toolCall)))
        }
    }

    /// A tool's result written into its RESULT frame's buffer (sent from there, not copied).
    static func encoded(_ result: ToolResult) -> OutgoingFrame {
        let out = OutgoingFrame(capacity: result.encodedSizeHint)
        result.write(into: out)
        return out
    }

    /// Runs a tool's immediate handler to its terminal frame on the calling thread: no task,
    /// no suspension. The same checks, metrics, logging and error mapping as `runTool`.
    static func runImmediate(_ tool: Tool, _ handler: Tool.ImmediateHandler, _ call: CallView, context: CallContext,
                             timer: Histogram, schema: SchemaCheck.Compiled?,
                             emit: @escaping Emit) -> Terminal {
        let toolCall: ToolCall
        switch prepare(tool, call, context: context, schema: schema, emit: emit) {
        case .success(let c): toolCall = c
        case .failure(let answer): return wrap(answer.frame)
        }
        let started = uv_hrtime()
        defer { timer.observe(uv_hrtime() &- started) }
        let request = toolCall.request
        logStart(request)
        let out: Terminal
        do {
            try request.load()
            out = (.result, .frame(encoded(try handler(toolCall))))
        } catch is CancellationError {
            out = wrap(cancelledFrame()) // as on the task path
        } catch {
            out = wrap(outcome(of: error, request, isTool: true, name: tool.name))
        }
        logEnd(out, request, isTool: true)
        return out
    }

    /// An answer given before the handler runs (a tool-level error result).
    struct EarlyAnswer: Error { let frame: (FrameType, [UInt8]) }

    /// The call as its handler gets it: arguments checked to be one JSON object and against the
    /// tool's input schema, where they lie in the frame (one validating scan that also makes the
    /// member table; no tree: a handler decodes what it reads), and its request context.
    static func prepare(_ tool: Tool, _ call: CallView, context: CallContext, schema: SchemaCheck.Compiled?,
                        emit: @escaping Emit) -> Result<ToolCall, EarlyAnswer> {
        let args: JSONView
        if call.arguments.isEmpty {
            args = .emptyObject
        } else {
            do { args = try JSONView.object(call.bytes, range: call.arguments) } catch {
                let answer = ToolResult.error("arguments must be a JSON object").jsonBytes
                return .failure(EarlyAnswer(frame: (.result, answer)))
            }
        }
        let problem = (schema ?? SchemaCheck.Compiled(tool.inputSchema)).validate(args)
        if let problem {
            let answer = ToolResult.error("Invalid arguments for tool \(tool.name): \(problem)").jsonBytes
            return .failure(EarlyAnswer(frame: (.result, answer)))
        }
        let request = RequestContext(context: context, subject: "tool:" + tool.name, emit: emit)
        return .success(ToolCall(name: tool.name, argumentsView: args, request: request))
    }

    static func readResource(_ uri: String, context: CallContext, index: PackIndex,
                             emit: @escaping Emit) async -> (FrameType, [UInt8]) {
        guard let (reader, vars) = index.resource(uri, era: context.era) else { return failure(.resourceNotFound(uri)) }
        let request = RequestContext(context: context, subject: "resource:" + uri, emit: emit)
        return await handle(request, isTool: false, name: uri) {
            let contents = try await reader(ResourceRead(uri: uri, variables: vars, request: request))
            return Array(JSONValue.object(["contents": .array(contents.map(\.json))]).compactJSON().utf8)
        }
    }

    static func getPrompt(_ call: CallView, context: CallContext, index: PackIndex,
                          emit: @escaping Emit) async -> (FrameType, [UInt8]) {
        let name = call.nameString
        guard let prompt = index.prompt(name, era: context.era) else {
            return failure(.invalidParams("Unknown prompt: \(name)"))
        }
        var args: [String: String] = [:]
        if !call.arguments.isEmpty {
            guard case .object(let o)? = try? call.withArguments({ try JSONValue.parse($0) }) else {
                return failure(.invalidParams("prompt arguments must be a JSON object"))
            }
            for (k, v) in o {
                switch v {
                case .string(let s): args[k] = s
                case .null: break
                default: args[k] = v.compactJSON()
                }
            }
        }
        for a in prompt.arguments where a.required && args[a.name] == nil {
            return failure(.invalidParams("Missing required argument '\(a.name)' for prompt \(name)"))
        }
        let request = RequestContext(context: context, subject: "prompt:" + name, emit: emit)
        return await handle(request, isTool: false, name: name) {
            Array(try await prompt.handler(PromptCall(name: name, arguments: args, request: request)).json.utf8)
        }
    }

    static func complete(_ call: CallView, context: CallContext, index: PackIndex,
                         emit: @escaping Emit) async -> (FrameType, [UInt8]) {
        let request = RequestContext(context: context, subject: "completion", emit: emit)
        guard let params = try? call.withArguments({ try JSONValue.parse($0) }),
              let c = CompletionRequest.parse(params, request: request) else {
            return failure(.invalidParams("invalid completion/complete params"))
        }
        var handler = index.pack.completion
        switch c.ref {
        case .prompt(let name):
            guard let p = index.prompt(name, era: context.era) else {
                return failure(.invalidParams("Unknown prompt: \(name)"))
            }
            handler = p.complete ?? handler
        case .resourceTemplate(let uri):
            handler = index.template(uri, era: context.era)?.complete ?? handler
        }
        guard let handler else { return (.result, Array(CompletionResult.empty.json.utf8)) }
        return await handle(request, isTool: false, name: "completion") { Array(try await handler(c).json.utf8) }
    }

    // MARK: outcomes

    static let log = Log("executor")

    /// Does a CallToolResult say `"isError":true`? A byte search, no decoding.
    static func reportsError(_ payload: [UInt8]) -> Bool {
        payload.withUnsafeBytes { reportsError($0) }
    }

    static func reportsError(_ p: UnsafeRawBufferPointer) -> Bool {
        let needle: StaticString = "\"isError\":true"
        guard p.count >= needle.utf8CodeUnitCount else { return false }
        return sy_memmem(p.baseAddress!, p.count, needle.utf8Start, needle.utf8CodeUnitCount) != nil
    }

    /// Runs `body` and maps every way it can end to one terminal frame, logging the outcome.
    static func handle(_ request: RequestContext, isTool: Bool, name: String,
                       _ body: () async throws -> [UInt8]) async -> (FrameType, [UInt8]) {
        let (type, payload) = await handlePayload(request, isTool: isTool, name: name) { .bytes(try await body()) }
        return (type, payload.bytes)
    }

    /// `handle` for a body that may write its result into a frame buffer.
    static func handlePayload(_ request: RequestContext, isTool: Bool, name: String,
                              _ body: () async throws -> ResultPayload) async -> Terminal {
        logStart(request)
        let out = await handleUnlogged(request, isTool: isTool, name: name, body)
        logEnd(out, request, isTool: isTool)
        return out
    }

    /// The request's ids for a log line (built only when a line is logged).
    private static func ids(_ request: RequestContext) -> [(String, String)] {
        [("request_id", request.context.requestId ?? "-")]
            + (request.context.traceparent.map { [("traceparent", $0)] } ?? [])
    }

    private static func logStart(_ request: RequestContext) {
        log.debug("call", [("what", request.subject)] + ids(request))
    }

    private static func logEnd(_ out: Terminal, _ request: RequestContext, isTool: Bool) {
        let (type, payload) = out
        if type == .error {
            let text = payload.withUnsafeBytes { String(decoding: $0.prefix(200), as: UTF8.self) }
            log.warning("call failed", [("what", request.subject), ("error", text)] + ids(request))
        } else if isTool, payload.count < 65_536, payload.withUnsafeBytes({ CallRunner.reportsError($0) }) {
            log.info("tool reported an error", [("what", request.subject)] + ids(request))
        }
    }

    private static func handleUnlogged(_ request: RequestContext, isTool: Bool, name: String,
                                       _ body: () async throws -> ResultPayload) async -> Terminal {
        do { try request.load() } catch { return wrap(failure(error)) }
        do {
            let result = try await body()
            if Task.isCancelled { return wrap(cancelledFrame()) }
            return (.result, result)
        } catch is CancellationError {
            return wrap(cancelledFrame())
        } catch {
            if Task.isCancelled { return wrap(cancelledFrame()) }
            return wrap(outcome(of: error, request, isTool: isTool, name: name))
        }
    }

    /// The terminal frame for a handler that threw `error` (not a cancellation).
    static func outcome(of error: any Error, _ request: RequestContext, isTool: Bool,
                        name: String) -> (FrameType, [UInt8]) {
        if request.era == .modern && request.hasPendingInputs {
            return (.result, request.inputRequiredResult())
        }
        switch error {
        case let e as RequestError:
            return failure(e)
        case let e as MissingClientCapability:
            if request.era == .legacy && isTool {
                let names = e.capabilities.map(\.rawValue).joined(separator: ", ")
                return (.result, ToolResult.error("Missing required client capability: \(names)").jsonBytes)
            }
            return failure(.missingCapability(e.capabilities))
        case let e as ToolError:
            return isTool ? (.result, ToolResult.error(e.message).jsonBytes) : failure(.internalError(e.message))
        default:
            return isTool ? (.result, ToolResult.error("\(name) failed: \(error)").jsonBytes)
                          : failure(.internalError("\(name) failed: \(error)"))
        }
    }

    static func failure(_ e: RequestError) -> (FrameType, [UInt8]) { (.error, Array(e.json.utf8)) }

    static func cancelledFrame() -> (FrameType, [UInt8]) {
        (.error, Array(ProtocolError(.requestCancelled, "request cancelled").errorObjectJSON.utf8))
    }
}

/// A terminal frame's payload: bytes to copy into the link's output (errors, small answers), or
/// a tool's result already written into its frame's buffer, which the link sends from there.
enum ResultPayload: Sendable {
    case bytes([UInt8])
    case frame(OutgoingFrame)

    var count: Int {
        switch self {
        case .bytes(let b): return b.count
        case .frame(let f): return f.payloadCount
        }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .bytes(let b): return try b.withUnsafeBytes(body)
        case .frame(let f): return try f.withPayload(body)
        }
    }

    /// A copy of the payload (tests and local runs).
    var bytes: [UInt8] {
        switch self {
        case .bytes(let b): return b
        case .frame(let f): return f.payload
        }
    }
}
