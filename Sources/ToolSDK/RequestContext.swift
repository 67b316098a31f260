import MCPCore
import WireProtocol

/// MCP log levels (RFC 5424 severities), lowest first.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warning, error, critical, alert, emergency

    public static func < (a: LogLevel, b: LogLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Where a running request's frames go: the front link that sent it, or every link.
public enum CallEvent: Sendable {
    /// PROGRESS on the call's stream.
    case progress([UInt8])
    /// NOTIFY on the call's stream (a log message, for instance).
    case notify([UInt8])
    /// REQUEST on the call's stream (legacy era server-to-client request).
    case request([UInt8])
    /// NOTIFY on stream 0 of every link (a list_changed or resources/updated notification).
    case notifyAll([UInt8])
    /// CATALOG on every link, after the executor's catalog is replaced by this pack.
    case replaceCatalog(ToolPack)
}

/// Everything a handler knows about its request beyond its arguments: the era, the client's
/// capabilities, the log level, progress, and the input exchange (elicitation, sampling,
/// roots) that works the same way in both eras.
///
/// Thread: any; one per request, shared by the handler's tasks.
public final class RequestContext: Sendable {
    /// The CALL meta the front sent.
    public let context: CallContext
    /// `tool:NAME`, `prompt:NAME` or `resource:URI`: what a requestState belongs to.
    let subject: String
    let emit: @Sendable (CallEvent) -> Void

    private struct Exchange {
        /// Inputs available this round: earlier rounds' (from requestState), then this round's.
        var answers: [String: JSONValue] = [:]
        /// Inputs the handler has used; carried forward in the next requestState.
        var used: [String: JSONValue] = [:]
        /// Inputs asked for and not available, in the order asked.
        var pending: [InputRequest] = []
        var state: [String: JSONValue] = [:]
    }
    private let exchange = Locked(Exchange())

    public init(context: CallContext = CallContext(), subject: String,
                emit: @escaping @Sendable (CallEvent) -> Void = { _ in }) {
        self.context = context; self.subject = subject; self.emit = emit
    }

    /// Modern era: validates `inputResponses` and unpacks `requestState`. A malformed either
    /// ends the request with -32602 before the handler runs.
    func load() throws(RequestError) {
        guard context.era == .modern else { return }
        var answers: [String: JSONValue] = [:]
        var state: [String: JSONValue] = [:]
        if let s = context.requestState {
            let decoded = try RequestState.decode(s, subject: subject)
            answers = decoded.answers
            state = decoded.state
        }
        if let responses = context.inputResponses {
            guard case .object(let o) = responses else {
                throw .invalidParams("inputResponses must be an object")
            }
            for (k, v) in o {
                guard case .object = v else { throw .invalidParams("inputResponses.\(k) must be an object") }
                answers[k] = v
            }
        }
        exchange.withLock { $0.answers = answers; $0.state = state }
    }

    // MARK: era, capabilities, logging

    public var era: CallContext.Era { context.era }

    /// Whether the client declared `capability`. Legacy calls whose front sent no capabilities
    /// count as declaring everything (the client answers a request it cannot serve with an error).
    public func clientSupports(_ capability: ClientCapability) -> Bool {
        guard let caps = context.clientCapabilities else { return context.era == .legacy }
        guard let c = caps[capability.rawValue] else { return false }
        return c != .null
    }

    /// Throws MissingClientCapability unless the client declared every one of `capabilities`.
    public func require(_ capabilities: ClientCapability...) throws {
        let missing = capabilities.filter { !clientSupports($0) }
        if !missing.isEmpty { throw MissingClientCapability(capabilities: missing) }
    }

    /// The lowest level sent to the client; nil means none (modern era without a logLevel).
    public var logThreshold: LogLevel? {
        if let l = context.logLevel { return LogLevel(rawValue: l) ?? .info }
        return context.era == .legacy ? .info : nil
    }

    func log(_ level: LogLevel, _ data: JSONValue, logger: String?) {
        guard let threshold = logThreshold, level >= threshold else { return }
        var p: [String: JSONValue] = ["level": .string(level.rawValue), "data": data]
        if let logger { p["logger"] = .string(logger) }
        let message = JSONValue.object(["method": .string("notifications/message"), "params": .object(p)])
        emit(.notify(Array(message.compactJSON().utf8)))
    }

    func progress(_ progress: Double, total: Double?, message: String?) {
        guard context.progressToken != nil else { return } // the client did not ask
        var o: [String: JSONValue] = ["progress": .number(progress)]
        if let total { o["total"] = .number(total) }
        if let message { o["message"] = .string(message) }
        emit(.progress(Array(JSONValue.object(o).compactJSON().utf8)))
    }

    // MARK: input exchange

    /// Returns the client's answer to each request, keyed by `key`. Legacy: sends them one by
    /// one as REQUEST frames and waits for each RESPONSE. Modern: answers found in
    /// `inputResponses` (or carried in requestState) are returned; if any is missing, all the
    /// missing ones are recorded and InputRequired is thrown, which ends the request with an
    /// input-required result listing them.
    public func inputs(_ requests: [InputRequest]) async throws -> [String: JSONValue] {
        let missingCaps = Set(requests.compactMap(\.capability).filter { !clientSupports($0) })
        if !missingCaps.isEmpty {
            throw MissingClientCapability(capabilities: ClientCapability.allCases.filter { missingCaps.contains($0) })
        }
        switch context.era {
        case .legacy:
            var out: [String: JSONValue] = [:]
            for r in requests {
                let emit = self.emit
                out[r.key] = try await InputBroker.shared.request(method: r.method, params: r.params,
                                                                  send: { emit(.request($0)) },
                                                                  withdraw: { emit(.notify($0)) })
            }
            return out
        case .modern:
            let (found, missing) = exchange.withLock { x -> ([String: JSONValue], [String]) in
                var found: [String: JSONValue] = [:]
                var missing: [String] = []
                for r in requests {
                    if let a = x.answers[r.key], r.accepts(a) {
                        found[r.key] = a
                        x.used[r.key] = a
                    } else {
                        x.pending.removeAll { $0.key == r.key }
                        x.pending.append(r)
                        missing.append(r.key)
                    }
                }
                return (found, missing)
            }
            if !missing.isEmpty { throw InputRequired(keys: missing) }
            return found
        }
    }

    /// One input; see `inputs(_:)`.
    public func input(_ request: InputRequest) async throws -> JSONValue {
        try await inputs([request])[request.key]!
    }

    /// Forgets an answer so the next request for `key` asks the client again (modern era).
    public func discardInput(key: String) {
        exchange.withLock { $0.answers[key] = nil; $0.used[key] = nil }
    }

    /// The handler's own state, carried from round to round of a modern multi-round request
    /// in requestState. Empty on the first round and always in the legacy era.
    public var state: [String: JSONValue] {
        get { exchange.withLock { $0.state } }
        set { exchange.withLock { $0.state = newValue } }
    }

    var hasPendingInputs: Bool { exchange.withLock { !$0.pending.isEmpty } }

    /// The input-required RESULT payload for what the handler asked for and did not get.
    /// `requestState` is present only when there is something to carry (handler state or
    /// answers already used): a first round that only asks, as in the conformance suite's
    /// single-input scenarios, is `{"resultType":"input_required","inputRequests":{...}}`, and
    /// the client retries without one (MRTR: a client MUST NOT send a requestState it was not given).
    func inputRequiredResult() -> [UInt8] {
        let (pending, state, used) = exchange.withLock { ($0.pending, $0.state, $0.used) }
        var requests: [String: JSONValue] = [:]
        for r in pending { requests[r.key] = r.json }
        var o: [String: JSONValue] = ["resultType": .string("input_required"), "inputRequests": .object(requests)]
        if !state.isEmpty || !used.isEmpty {
            o["requestState"] = .string(RequestState(subject: subject, state: state, answers: used).encoded())
        }
        return Array(JSONValue.object(o).compactJSON().utf8)
    }
}

/// What tool calls, prompt gets and resource reads share: the request context and the API on it.
public protocol RequestHandle: Sendable {
    var request: RequestContext { get }
}

extension RequestHandle {
    /// `legacy` (2025-11-25 and earlier) or `modern` (2026-07-28).
    public var era: CallContext.Era { request.context.era }
    public var protocolVersion: String? { request.context.protocolVersion }
    /// The client's capabilities object, when the front knows it.
    public var clientCapabilities: JSONValue? { request.context.clientCapabilities }
    public func clientSupports(_ capability: ClientCapability) -> Bool { request.clientSupports(capability) }
    /// Throws MissingClientCapability (-32021 in the modern era) unless the client declared them.
    public func require(_ capabilities: ClientCapability...) throws {
        let missing = capabilities.filter { !request.clientSupports($0) }
        if !missing.isEmpty { throw MissingClientCapability(capabilities: missing) }
    }
    /// The lowest level `log` sends; nil: none (a modern request without a logLevel).
    public var logLevel: LogLevel? { request.logThreshold }
    /// Who called, as the front authenticated them (subject, client id, scopes); nil when the
    /// server runs without authentication. The caller's token never reaches a tool.
    public var principal: CallContext.Caller? { request.context.principal }
    /// The client's `_meta.progressToken`, when it asked for progress.
    public var progressToken: JSONValue? { request.context.progressToken }
    /// Did the client ask for progress notifications (a `progressToken` in `_meta`)?
    public var wantsProgress: Bool { request.context.progressToken != nil }

    /// Reports progress; sent only when the client asked for it. `progress` must increase.
    public func progress(_ progress: Double, total: Double? = nil, message: String? = nil) {
        request.progress(progress, total: total, message: message)
    }

    /// Sends `notifications/message` for this request when `level` is at or above the
    /// request's log level (modern era without a logLevel: never).
    public func log(_ level: LogLevel, _ data: JSONValue, logger: String? = nil) {
        request.log(level, data, logger: logger)
    }

    /// Same, with the level as a string (unknown levels count as `info`).
    public func log(_ level: String, _ data: JSONValue, logger: String? = nil) {
        request.log(LogLevel(rawValue: level) ?? .info, data, logger: logger)
    }

    /// Asks the user for input through the client (form elicitation).
    public func elicit(key: String, message: String, schema: JSONValue) async throws -> ElicitResult {
        let r = try await request.input(.elicitation(key: key, message: message, schema: schema))
        guard case .object(let o) = r, let e = ElicitResult(o) else {
            throw ClientRequestFailed(code: -32602, message: "the client's elicitation answer is not an ElicitResult")
        }
        return e
    }

    /// Asks the client's model for a completion.
    public func sample(key: String, messages: [JSONValue], maxTokens: Int,
                       systemPrompt: String? = nil) async throws -> SamplingResult {
        SamplingResult(raw: try await request.input(.sampling(key: key, messages: messages, maxTokens: maxTokens,
                                                              systemPrompt: systemPrompt)))
    }

    /// Asks the client's model to answer one user prompt.
    public func sample(key: String, prompt: String, maxTokens: Int = 100) async throws -> SamplingResult {
        SamplingResult(raw: try await request.input(.sampling(key: key, prompt: prompt, maxTokens: maxTokens)))
    }

    /// Asks the client for its roots.
    public func listRoots(key: String) async throws -> [Root] {
        Root.list(try await request.input(.roots(key: key)))
    }

    /// Asks for several inputs at once (modern: one input-required result lists all missing ones).
    public func inputs(_ requests: [InputRequest]) async throws -> [String: JSONValue] {
        try await request.inputs(requests)
    }

    /// The handler's state dictionary, carried between rounds of a modern multi-round request.
    public var requestState: [String: JSONValue] {
        get { request.state }
        nonmutating set { request.state = newValue }
    }

    /// Forgets the answer under `key`, so asking again goes to the client (modern era).
    public func discardInput(key: String) { request.discardInput(key: key) }

    /// Sends a notification to every front on stream 0 (for instance
    /// `notifications/tools/list_changed`); fronts forward it to interested clients.
    public func notifyAll(method: String, params: JSONValue? = nil) {
        request.emit(.notifyAll(ExecutorRuntime.notificationPayload(method: method, params: params)))
    }

    /// Replaces the executor's catalog; every front receives a CATALOG frame.
    public func replaceCatalog(_ pack: ToolPack) { request.emit(.replaceCatalog(pack)) }
}
