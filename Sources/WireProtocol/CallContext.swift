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

    /// The members, held in one immutable box: a context is copied several times on its way
    /// to a handler (task capture, runner, RequestContext), and a copy is then one retain
    /// instead of one per string. A setter replaces the box (setters are rare: decode fills
    /// `Fields` first).
    struct Fields: Sendable {
        /// The meta bytes a decoded context came from: its string members are read from here
        /// when first asked for (most calls read one or two of them, or none).
        var raw: [UInt8] = []
        var requestMeta: LazyJSON?
        var era: Era = .legacy
        var protocolVersion: Text?
        var clientCapabilities: LazyJSON?
        var logLevel: Text?
        var inputResponses: LazyJSON?
        var requestState: Text?
        var requestId: Text?
        var traceparent: Text?
        var cancelKey: Text?
        var principal: Caller?
        var session: Text?

        /// A string member's value (decoded now when it is still a token in `raw`).
        func read(_ t: Text?) -> String? {
            switch t {
            case nil: return nil
            case .decoded(let s): return s
            case .token(let r):
                // Checked to be a JSON string when the context was decoded.
                return raw.withUnsafeBytes { JSONValue.parseString(UnsafeRawBufferPointer(rebasing: $0[r])) }
            }
        }
    }

    /// A string member: decoded, or the range of its JSON string token (quotes included) in
    /// the meta bytes, checked to be a valid string but not yet unescaped into a String.
    enum Text: Sendable {
        case decoded(String)
        case token(Range<Int>)
    }

    /// Who called, as the front authenticated them (proto §5.3.1 `principal`): never the
    /// credential, which stays at the front.
    public struct Caller: Sendable, Equatable {
        /// The token's subject, the API key's name or the client certificate's subject.
        public var subject: String
        public var clientId: String?
        public var scopes: [String]
        /// `oauth`, `api-key` or `client-certificate`.
        public var auth: String

        public init(subject: String, clientId: String? = nil, scopes: [String] = [], auth: String) {
            self.subject = subject
            self.clientId = clientId
            self.scopes = scopes
            self.auth = auth
        }

        /// Decodes the `principal` member; nil when it is not such an object.
        init?(_ value: JSONValue) {
            guard case .string(let subject)? = value["subject"], case .string(let auth)? = value["auth"] else {
                return nil
            }
            var scopes: [String] = []
            if let s = value["scopes"] {
                guard case .array(let items) = s else { return nil }
                for case .string(let scope) in items { scopes.append(scope) }
            }
            self.init(subject: subject, clientId: value["clientId"]?.stringValue, scopes: scopes, auth: auth)
        }

        var json: JSONValue {
            var o: [String: JSONValue] = ["subject": .string(subject), "auth": .string(auth),
                                          "scopes": .array(scopes.map(JSONValue.string))]
            if let clientId { o["clientId"] = .string(clientId) }
            return .object(o)
        }
    }
    private final class Box: Sendable {
        let f: Fields
        init(_ f: Fields) { self.f = f }
    }
    private var box: Box

    private init(fields: Fields) { box = Box(fields) }
    private mutating func update(_ change: (inout Fields) -> Void) {
        var f = box.f
        change(&f)
        box = Box(f)
    }

    /// The client's `params._meta` object (progressToken and the like), when present.
    public var requestMeta: JSONValue? {
        get { box.f.requestMeta?.value } set { update { $0.requestMeta = newValue.map(LazyJSON.init) } }
    }
    public var era: Era {
        get { box.f.era } set { update { $0.era = newValue } }
    }
    /// The request's MCP protocol version, when the front knows it.
    public var protocolVersion: String? {
        get { box.f.read(box.f.protocolVersion) } set { update { $0.protocolVersion = newValue.map(Text.decoded) } }
    }
    /// The client's capabilities object. Modern: from `_meta` on each request; legacy: from
    /// initialize, and may be absent (then nothing is known).
    public var clientCapabilities: JSONValue? {
        get { box.f.clientCapabilities?.value } set { update { $0.clientCapabilities = newValue.map(LazyJSON.init) } }
    }
    /// The lowest log level to send. Modern: absent means no log notifications at all.
    /// Legacy: the session's level (absent: `info`).
    public var logLevel: String? {
        get { box.f.read(box.f.logLevel) } set { update { $0.logLevel = newValue.map(Text.decoded) } }
    }
    /// Modern retry of an input-required result: the client's `params.inputResponses`, exactly
    /// as sent (`.null` when the client sent `null`; nil when absent). Not validated here.
    public var inputResponses: JSONValue? {
        get { box.f.inputResponses?.value } set { update { $0.inputResponses = newValue.map(LazyJSON.init) } }
    }
    /// Modern retry: the executor-produced state string, already verified and unwrapped by the front.
    public var requestState: String? {
        get { box.f.read(box.f.requestState) } set { update { $0.requestState = newValue.map(Text.decoded) } }
    }
    /// The front's id for this request: the same id is in the front's access log and the
    /// executor's log lines about the call.
    public var requestId: String? {
        get { box.f.read(box.f.requestId) } set { update { $0.requestId = newValue.map(Text.decoded) } }
    }
    /// W3C trace context of the request (from its `traceparent` header or `_meta.traceparent`).
    public var traceparent: String? {
        get { box.f.read(box.f.traceparent) } set { update { $0.traceparent = newValue.map(Text.decoded) } }
    }
    /// Who called (nil: the front runs without authentication).
    public var principal: Caller? {
        get { box.f.principal } set { update { $0.principal = newValue } }
    }
    /// The key a client's cancellation reaching another front is matched by (legacy sessions).
    public var cancelKey: String? {
        get { box.f.read(box.f.cancelKey) } set { update { $0.cancelKey = newValue.map(Text.decoded) } }
    }

    /// Legacy: an opaque key of the client session the request belongs to, the same for every
    /// request of the session on every front (a hash, never the session id itself). An upstream
    /// bridge in per-session mode gives each session a copy of its own by it.
    public var session: String? {
        get { box.f.read(box.f.session) } set { update { $0.session = newValue.map(Text.decoded) } }
    }

    public init(requestMeta: JSONValue? = nil, era: Era = .legacy, protocolVersion: String? = nil,
                clientCapabilities: JSONValue? = nil, logLevel: String? = nil,
                inputResponses: JSONValue? = nil, requestState: String? = nil) {
        self.init(fields: Fields(requestMeta: requestMeta.map(LazyJSON.init), era: era,
                                 protocolVersion: protocolVersion.map(Text.decoded),
                                 clientCapabilities: clientCapabilities.map(LazyJSON.init),
                                 logLevel: logLevel.map(Text.decoded),
                                 inputResponses: inputResponses.map(LazyJSON.init),
                                 requestState: requestState.map(Text.decoded)))
    }

    public static func == (a: CallContext, b: CallContext) -> Bool {
        a.era == b.era && a.protocolVersion == b.protocolVersion && a.logLevel == b.logLevel
            && a.requestState == b.requestState && a.requestId == b.requestId && a.traceparent == b.traceparent
            && a.cancelKey == b.cancelKey && a.requestMeta == b.requestMeta
            && a.clientCapabilities == b.clientCapabilities && a.inputResponses == b.inputResponses
            && a.principal == b.principal && a.session == b.session
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

    /// Decodes CALL meta bytes; unknown members are ignored. Every member is checked, but the
    /// nested objects (`_meta`, `clientCapabilities`, `inputResponses`) stay bytes until read:
    /// most calls never look at them, and building them was a fifth of a small call's cost.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> CallContext {
        if bytes.isEmpty { return CallContext() }
        // One struct mutated through one method: a closure capturing several variables paid a
        // dynamic exclusivity check on each of them per member.
        var scan = MemberScan()
        do {
            try bytes.withUnsafeBytes { b in
                try JSONValue.forEachMemberKeyBytes(b) { key, range in scan.take(key, range, in: b) }
            }
        } catch {
            throw .notAnObject
        }
        guard scan.sawEra else {
            // An older front: the object is the request's `_meta` itself.
            guard case .object(let o)? = try? JSONValue.parse(bytes) else { throw .notAnObject }
            return CallContext(requestMeta: .object(o), era: .legacy)
        }
        if let bad = scan.bad { throw .badMember(bad) }
        scan.fields.raw = bytes
        return CallContext(fields: scan.fields)
    }

    /// What `decode` gathers member by member. Every known member is checked for its type;
    /// strings are kept as their token's range (`Text.token`), objects as their bytes.
    private struct MemberScan {
        var fields = Fields()
        var sawEra = false
        /// The first known member with a wrong type.
        var bad: String?
        /// One bit per known member: the first of duplicates wins, as in the envelope scanner.
        var seen: UInt16 = 0

        mutating func take(_ key: UnsafeRawBufferPointer, _ range: Range<Int>, in b: UnsafeRawBufferPointer) {
            let bit = CallContext.memberBit(key)
            guard bit != 0, bad == nil, seen & bit == 0 else { return }
            seen |= bit
            let v = UnsafeRawBufferPointer(rebasing: b[range])
            func fail() { bad = String(decoding: key, as: UTF8.self) }
            // A string member (null: absent). The scan checked the token is valid JSON, so a
            // value that starts with a quote is a valid string.
            func text() -> Text? {
                if v.first == UInt8(ascii: "n") { return nil }
                guard v.first == UInt8(ascii: "\"") else { fail(); return nil }
                return .token(range)
            }
            func object() -> LazyJSON? {
                if v.first == UInt8(ascii: "n") { return nil }
                guard v.first == UInt8(ascii: "{") else { fail(); return nil }
                return LazyJSON(raw: Array(v))
            }
            switch bit {
            case 1:
                sawEra = true
                // Compared as bytes: the only two values.
                if v.bytesEqual("\"legacy\"") { fields.era = .legacy }
                else if v.bytesEqual("\"modern\"") { fields.era = .modern }
                else if let e = JSONValue.parseString(v), let era = Era(rawValue: e) { fields.era = era }
                else { fail() }
            case 2: fields.requestMeta = object()
            case 4: fields.protocolVersion = text()
            case 8: fields.clientCapabilities = object()
            case 16: fields.logLevel = text()
            case 32: fields.inputResponses = LazyJSON(raw: Array(v))
            case 64: fields.requestState = text()
            case 128: fields.requestId = text()
            case 256: fields.traceparent = text()
            case 1024:
                if v.first == UInt8(ascii: "n") { return }
                guard let value = try? JSONValue.parse(v), let caller = Caller(value) else { fail(); return }
                fields.principal = caller
            case 2048: fields.session = text()
            default: // cancelKey: optional to the executor, so one that is not a string is ignored
                if v.first == UInt8(ascii: "\"") { fields.cancelKey = .token(range) }
            }
        }
    }

    /// The bit of a known member's key (its UTF-8 bytes), 0 for any other key. Compared as
    /// bytes: a String per key was a tenth of decoding a small call's context.
    fileprivate static func memberBit(_ key: UnsafeRawBufferPointer) -> UInt16 {
        switch key.count {
        case 3: return key.bytesEqual("era") ? 1 : 0
        case 5: return key.bytesEqual("_meta") ? 2 : 0
        case 7: return key.bytesEqual("session") ? 2048 : 0
        case 8: return key.bytesEqual("logLevel") ? 16 : 0
        case 9:
            return key.bytesEqual("requestId") ? 128 : key.bytesEqual("cancelKey") ? 512
                : key.bytesEqual("principal") ? 1024 : 0
        case 11: return key.bytesEqual("traceparent") ? 256 : 0
        case 12: return key.bytesEqual("requestState") ? 64 : 0
        case 14: return key.bytesEqual("inputResponses") ? 32 : 0
        case 15: return key.bytesEqual("protocolVersion") ? 4 : 0
        case 18: return key.bytesEqual("clientCapabilities") ? 8 : 0
        default: return 0
        }
    }

    public init(object o: [String: JSONValue]) throws(DecodeError) {
        self = try CallContext.decode(JSONValue.object(o).compactJSONBytes())
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
        if let cancelKey { o["cancelKey"] = .string(cancelKey) }
        if let principal { o["principal"] = principal.json }
        if let session { o["session"] = .string(session) }
        return .object(o)
    }

    public func encoded() -> [UInt8] { Array(json.compactJSON().utf8) }
}

/// A JSON value kept as its bytes until first read (then parsed on every read: the members
/// it holds are read once or never). Bytes were checked to be valid JSON when stored.
struct LazyJSON: Sendable {
    private let parsed: JSONValue?
    private let raw: [UInt8]

    init(_ value: JSONValue) { parsed = value; raw = [] }
    init(raw: [UInt8]) { parsed = nil; self.raw = raw }

    var value: JSONValue { parsed ?? (try? JSONValue.parse(raw)) ?? .null }
}
