import CSupport
import MCPCore
import Metrics
import Security

/// One MCP message at the front, from its scan to its answer: what the pipeline's stages
/// learned about it and where its answer goes. Built once per POST from a structural scan of
/// the JSON-RPC envelope and the indexed headers; each stage enriches it (the era stage sets
/// `era` and `session`), and the method handler answers it.
///
/// Ownership: `http` and `body` point into the connection's read buffer and are valid only
/// while the connection dispatches the request. A stage that suspends keeps `detached()`.
struct FrontRequest {
    private(set) var http: HTTPRequest
    let slot: ResponseSlot
    /// Where the answer goes: the HTTP connection, or the stdio session.
    /// Unowned: a request is handled while its connection dispatches it, and the connection
    /// lives until its close callback, never inside one. (HTTPConnection has weak references,
    /// so counting strong ones takes the runtime's slow path: a tenth of the pipeline's cost.)
    /// A detached copy holds the connection strongly in `retained`.
    unowned(unsafe) let connection: any AnswerChannel
    private var retained: (any AnswerChannel)?
    /// The scanned envelope, or the error that the scan or the shape check produced.
    private(set) var envelope = Envelope()
    let envelopeError: ProtocolError?
    /// The JSON-RPC id as sent (string ids keep their quotes); nil for a notification or when
    /// the id cannot be read.
    let id: [UInt8]?
    /// The method's index in the MethodTable, when the front serves a method of that name.
    let methodIndex: Int?
    /// How the client wants answers: one JSON body, or an SSE stream.
    let format: AnswerFormat
    /// The client accepts an SSE answer (a call's notifications upgrade its answer to one).
    let acceptsSSE: Bool
    /// The client accepts a JSON answer. A POST must accept both (MediaTypeStage).
    let acceptsJSON: Bool
    /// Set by `EraStage`.
    var era = Era.handshake
    /// The handshake-era session (nil before `initialize` and in the stateless era).
    var session: SessionTokens.Session?
    /// Who is calling: set by `AuthenticationStage`; anonymous when authentication is off.
    var principal = Principal.anonymous
    /// This request's audit line (a batch member's own), with `--audit-log`; stages that refuse
    /// say why on it.
    var audit: AuditNote?
    /// Set by `ResultCacheStage` when the call's result may be cached and was not: where the
    /// executor's result is kept.
    var resultCache: ResultCacheTicket?

    /// The protocol era a request belongs to.
    enum Era {
        /// 2025-11-25 and earlier: `initialize`, `Mcp-Session-Id`.
        case handshake
        /// 2026-07-28: everything a request needs is in its `_meta` and headers.
        case stateless(ModernRequest.Context)
    }

    /// The JSON-RPC message: the HTTP body, or one member of a batch in it.
    private(set) var body: UnsafeRawBufferPointer
    /// The batch this message belongs to, and its place in it (2025-03-26 sessions).
    private(set) var batch: BatchAnswer?
    private(set) var batchIndex = 0
    /// The method, unescaped; nil for client answers and for bodies that are not requests.
    var method: String? { envelopeError == nil ? envelope.method(in: body) : nil }
    var hasMethod: Bool { envelopeError == nil && envelope.hasMethod }
    var isStateless: Bool { if case .stateless = era { return true } else { return false } }
    var statelessContext: ModernRequest.Context? {
        if case .stateless(let c) = era { return c } else { return nil }
    }

    /// Where the answer goes, for handlers that answer later.
    var target: AnswerTarget {
        AnswerTarget(slot: slot, connection: connection, id: id, format: format, batch: batch, batchIndex: batchIndex)
    }

    /// `message` is one member of a batch (`batch`, `index`) in `http`'s body; nil for the body.
    init(http: HTTPRequest, slot: ResponseSlot, connection: any AnswerChannel, preferSSE: Bool, methods: MethodTable,
         message: UnsafeRawBufferPointer? = nil, batch: BatchAnswer? = nil, index: Int = 0) {
        self.http = http
        let body = message ?? http.body
        self.body = body
        self.batch = batch
        batchIndex = index
        self.slot = slot
        self.connection = connection
        let flags = http.acceptFlags
        let json = flags & Int32(SY_ACCEPT_JSON | SY_ACCEPT_ANY | SY_ACCEPT_APPLICATION) != 0
        let sse = flags & Int32(SY_ACCEPT_SSE | SY_ACCEPT_ANY | SY_ACCEPT_TEXT) != 0
        // A batch is answered with one JSON array: its members never turn into streams.
        acceptsSSE = sse && batch == nil
        acceptsJSON = json
        format = sse && (preferSSE || !json) ? .sse : .json
        var error: ProtocolError?
        do throws(ProtocolError) {
            try envelope.scan(body)
            if envelope.isObject { try envelope.validateRequest(in: body) }
        } catch let e {
            error = e
        }
        envelopeError = error
        id = envelope.idRange().map { Array(body[$0]) }
        var index: Int?
        if error == nil, envelope.hasMethod {
            let m = envelope.raw.method
            index = m.escaped == 0 ? methods.index(of: Envelope.bytes(body, m))
                                   : envelope.method(in: body).flatMap { methods.index(of: $0) }
            if batch != nil {
                // The POST's label stays "other": its members may be of several methods.
            } else if id != nil {
                slot.methodIndex = index.map { methods.entries[$0].label } ?? LabelIndex.method("other")
            } else {
                let initialized = envelope.method(in: body) == "notifications/initialized"
                slot.methodIndex = LabelIndex.method(initialized ? "notifications/initialized" : "notification")
            }
        }
        methodIndex = index
    }

    /// A copy that outlives dispatch, for a stage that suspends: the head and the request's
    /// bytes are copied into storage of its own.
    func detached(pool: OpaquePointer) -> FrontRequest {
        var copy = self
        let offset = body.baseAddress! - http.bytes.baseAddress!
        copy.http = http.detached(pool: pool)
        copy.body = UnsafeRawBufferPointer(rebasing: copy.http.bytes[offset..<offset + body.count])
        copy.retained = connection
        return copy
    }
}

/// Where an answer goes: the connection's slot for the request, the id to echo, the framing.
struct AnswerTarget {
    let slot: ResponseSlot
    /// Unowned, as in FrontRequest: a target is used within the loop turn it is made in.
    unowned(unsafe) let connection: any AnswerChannel
    let id: [UInt8]?
    let format: AnswerFormat
    /// Set for a member of a batch: its answer goes into the batch's array.
    var batch: BatchAnswer? = nil
    var batchIndex = 0
}
