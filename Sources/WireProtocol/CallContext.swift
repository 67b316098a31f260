import MCPCore

/// The CALL meta object: the request's `_meta` plus the context the front knows about the
/// request (proto/executor-protocol.md, "CALL meta").
///
/// Backward compatibility: fronts before this object sent the client's bare `_meta`. An object
/// without an `"era"` member is read as `{"_meta": <that object>, "era": "legacy"}`, and empty
/// meta bytes as a legacy call without `_meta`.
public struct CallContext: Sendable, Equatable {
    /// Which MCP era the request belongs to.
    public enum Era: String, Sendable, CaseIterable {
        /// 2025-11-25 and earlier: sessions, server-to-client requests (REQUEST/RESPONSE frames).
        case legacy
        /// 2026-07-28: stateless; input-required results instead of server-to-client requests.
        case modern
    }

    /// The client's `params._meta` object (progressToken and the like), when present.
    public var requestMeta: JSONValue?
    public var era: Era
    /// The request's MCP protocol version, when the front knows it.
    public var protocolVersion: String?
    /// The client's capabilities object. Modern: from `_meta` on each request; legacy: from
    /// initialize, and may be absent (then nothing is known).
    public var clientCapabilities: JSONValue?
    /// The lowest log level to send. Modern: absent means no log notifications at all.
    /// Legacy: the session's level (absent: `info`).
    public var logLevel: String?
    /// Modern retry of an input-required result: the client's `params.inputResponses`, exactly
    /// as sent (`.null` when the client sent `null`; nil when absent). Not validated here.
    public var inputResponses: JSONValue?
    /// Modern retry: the executor-produced state string, already verified and unwrapped by the front.
    public var requestState: String?
    /// The front's id for this request: the same id is in the front's access log and the
    /// executor's log lines about the call.
    public var requestId: String?
    /// W3C trace context of the request (from its `traceparent` header or `_meta.traceparent`).
    public var traceparent: String?

    public init(requestMeta: JSONValue? = nil, era: Era = .legacy, protocolVersion: String? = nil,
                clientCapabilities: JSONValue? = nil, logLevel: String? = nil,
                inputResponses: JSONValue? = nil, requestState: String? = nil) {
        self.requestMeta = requestMeta; self.era = era; self.protocolVersion = protocolVersion
        self.clientCapabilities = clientCapabilities; self.logLevel = logLevel
        self.inputResponses = inputResponses; self.requestState = requestState
    }

    /// The client's `_meta.progressToken`, when it asked for progress.
    public var progressToken: JSONValue? {
        guard let t = requestMeta?["progressToken"], t != .null else { return nil }
        return t
    }

    public enum DecodeError: Error, Equatable {
        /// The meta bytes are not a JSON object (answered with ERROR -32602).
        case notAnObject
        /// A known member has the wrong type (answered with ERROR -32602).
        case badMember(String)
    }

    /// Decodes CALL meta bytes; unknown members are ignored.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> CallContext {
        if bytes.isEmpty { return CallContext() }
        guard case .object(let o)? = try? JSONValue.parse(bytes) else { throw .notAnObject }
        return try CallContext(object: o)
    }

    public init(object o: [String: JSONValue]) throws(DecodeError) {
        guard let eraValue = o["era"] else {
            // An older front: the object is the request's `_meta` itself.
            self.init(requestMeta: .object(o), era: .legacy)
            return
        }
        guard case .string(let e) = eraValue, let era = Era(rawValue: e) else { throw .badMember("era") }
        func string(_ k: String) throws(DecodeError) -> String? {
            switch o[k] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw .badMember(k)
            }
        }
        func object(_ k: String) throws(DecodeError) -> JSONValue? {
            switch o[k] {
            case nil, .null?: return nil
            case .object(let v)?: return .object(v)
            default: throw .badMember(k)
            }
        }
        self.init(requestMeta: try object("_meta"), era: era, protocolVersion: try string("protocolVersion"),
                  clientCapabilities: try object("clientCapabilities"), logLevel: try string("logLevel"),
                  inputResponses: o["inputResponses"], requestState: try string("requestState"))
        requestId = try string("requestId")
        traceparent = try string("traceparent")
    }

    /// The compact JSON object a front sends as CALL meta.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["era": .string(era.rawValue)]
        if let requestMeta { o["_meta"] = requestMeta }
        if let protocolVersion { o["protocolVersion"] = .string(protocolVersion) }
        if let clientCapabilities { o["clientCapabilities"] = clientCapabilities }
        if let logLevel { o["logLevel"] = .string(logLevel) }
        if let inputResponses { o["inputResponses"] = inputResponses }
        if let requestState { o["requestState"] = .string(requestState) }
        if let requestId { o["requestId"] = .string(requestId) }
        if let traceparent { o["traceparent"] = .string(traceparent) }
        return .object(o)
    }

    public func encoded() -> [UInt8] { Array(json.compactJSON().utf8) }
}
