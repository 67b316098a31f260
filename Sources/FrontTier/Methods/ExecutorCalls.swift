import CSupport
import MCPCore
import Security
import WireProtocol

/// Sends a request that executors answer (a tool call, a resource read, a prompt, a
/// completion) as a CALL: builds its context (proto/executor-protocol.md, "CALL meta") and a
/// `PendingCall` whose answer `ExecutorAnswers` writes. Shared by the four handlers that call
/// executors. Thread: the loop thread.
struct ExecutorCalls {
    let s: FrontServices
    unowned(unsafe) let answers: ExecutorAnswers

    /// Submits the call of `kind` on `name`; `arguments` is sent as it came, never decoded.
    func start(_ kind: CallPayload.Kind, name: String, arguments: sy_json_value_t?, _ r: inout FrontRequest) {
        let body = r.body
        var args = UnsafeRawBufferPointer(start: nil, count: 0)
        if let a = arguments, a.kind == Int32(SY_JSON_OBJECT) { args = Envelope.bytes(body, a) }
        let requestNumber = s.nextRequestNumber()
        let traceparent = Self.traceparent(r)
        if s.writer.accessLog != nil { r.slot.requestId = s.requestId(requestNumber) }
        r.slot.traceparent = traceparent
        var state: String?
        var inputResponses: [UInt8]?
        if r.isStateless, r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT) {
            // Only the two retry members are looked for; the arguments are not decoded here.
            // The first of duplicate members counts (as in the envelope scan); a requestState
            // that is not a string is ignored.
            var sealed: String?, sawState = false
            let params = Envelope.bytes(body, r.envelope.raw.params)
            try? JSONValue.forEachMemberKeyBytes(params) { key, range in
                if !sawState, key.bytesEqual("requestState") {
                    sawState = true
                    sealed = JSONValue.parseString(UnsafeRawBufferPointer(rebasing: params[range]))
                } else if inputResponses == nil, key.bytesEqual("inputResponses") {
                    inputResponses = Array(params[range])
                }
            }
            if let sealed {
                guard let opened = s.sessions.unseal(sealed, subject: PendingCall.stateSubject(
                    kind: kind, name: name, owner: r.principal.bindingDigest)) else {
                    s.writer.error(r.target, ProtocolError(
                        .invalidParams, "Invalid params: requestState was tampered with or belongs to another request"))
                    return
                }
                state = opened
            }
        }
        let now = s.loop.now
        let call = PendingCall(target: r.target, responder: answers, tool: name, arguments: args,
                               argsChunk: args.count > 0 ? r.http.chunk : nil,
                               startedAt: now, deadline: s.router.deadline(for: name, now: now))
        call.kind = kind
        call.modern = r.isStateless
        if call.modern { r.connection.modernCalls[ObjectIdentifier(call)] = call }
        // One pass over the session id serves both keys derived from it.
        let sessionHash = r.session.map { FNV1a.hash($0.id) }
        let cancelHash = sessionHash.map { CallRouter.cancelHashValue(sessionHash: $0, r.id ?? []) }
        call.context = context(r, requestNumber: requestNumber, traceparent: traceparent, cancelHash: cancelHash,
                               sessionKey: sessionHash.map { FNV1a.hash(Self.sessionKeySuffix, from: $0) },
                               inputResponses: inputResponses, requestState: state)
        call.acceptsSSE = r.acceptsSSE
        call.cancelKey = cancelHash
        call.sessionId = r.session?.id
        call.owner = r.principal.bindingDigest
        call.resultCache = r.resultCache
        if kind == .tool { r.slot.tool = name }
        let t = r.envelope.raw.progress_token
        if t.kind == Int32(SY_JSON_STRING) || t.kind == Int32(SY_JSON_NUMBER) {
            let range = t.kind == Int32(SY_JSON_STRING) ? Int(t.span.off) - 1..<Int(t.span.off + t.span.len) + 1
                                                          : Int(t.span.off)..<Int(t.span.off + t.span.len)
            call.progressToken = Array(body[range])
        }
        s.router.submit(call)
    }

    /// The `traceparent` of a request when it is well formed (W3C Trace Context, version 00):
    /// from the header, else from `_meta.traceparent`.
    static func traceparent(_ r: FrontRequest) -> String? {
        guard let t = r.http.header(.traceparent) ?? Envelope.string(r.body, r.envelope.raw.traceparent) else {
            return nil
        }
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              t.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }),
              parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16) else {
            return nil
        }
        return t
    }

    /// The CALL meta context, built without decoding the client's `_meta`: its bytes are
    /// spliced in as they came.
    func context(_ r: FrontRequest, requestNumber: UInt64, traceparent: String?, cancelHash: UInt64?,
                 sessionKey: UInt64?, inputResponses: [UInt8]?, requestState: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        if let m = r.statelessContext {
            out.append(literal: "{\"era\":\"modern\",\"protocolVersion\":")
            JSONValue.appendQuoted(m.protocolVersion, to: &out)
            out.append(literal: ",\"clientCapabilities\":")
            m.clientCapabilities.write(into: &out)
            if let l = m.logLevel { out.append(literal: ",\"logLevel\":"); JSONValue.appendQuoted(l, to: &out) }
        } else {
            out.append(literal: "{\"era\":\"legacy\"")
            if let session = r.session {
                out.append(literal: ",\"protocolVersion\":")
                JSONValue.appendQuoted(session.protocolVersion, to: &out)
                out.append(literal: ",\"clientCapabilities\":")
                out.append(utf8: session.capabilitiesJSON)
                if let l = s.sessions.level(session.id) {
                    out.append(literal: ",\"logLevel\":")
                    JSONValue.appendQuoted(l, to: &out)
                }
            }
        }
        if let requestState { out.append(literal: ",\"requestState\":"); JSONValue.appendQuoted(requestState, to: &out) }
        out.append(literal: ",\"requestId\":\"") // the id needs no escape: letters, digits, '-'
        s.appendRequestId(requestNumber, to: &out)
        out.append(UInt8(ascii: "\""))
        if let cancelHash {
            out.append(literal: ",\"cancelKey\":\"")
            CallRouter.appendCancelHash(cancelHash, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if let sessionKey {
            // A hash, never the id: executors must not hold what lets one act as the session.
            out.append(literal: ",\"session\":\"")
            CallRouter.appendCancelHash(sessionKey, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if let traceparent { out.append(literal: ",\"traceparent\":"); JSONValue.appendQuoted(traceparent, to: &out) }
        if !r.principal.isAnonymous { Self.appendPrincipal(r.principal, to: &out) }
        if r.envelope.raw.meta.kind == Int32(SY_JSON_OBJECT) {
            out.append(literal: ",\"_meta\":")
            out += Envelope.bytes(r.body, r.envelope.raw.meta)
        }
        if let inputResponses {
            out.append(literal: ",\"inputResponses\":")
            out += inputResponses
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The CALL context's `session` key is FNV-1a of the session id followed by `|session`:
    /// never a cancellation key, whose `|` is followed by a JSON id (a number or a quoted string).
    static let sessionKeySuffix = Array("|session".utf8)

    /// The CALL context's `session` key of a session id, as the context spells it.
    static func sessionKey(of sessionId: String) -> String {
        var out: [UInt8] = []
        CallRouter.appendCancelHash(FNV1a.hash(sessionKeySuffix, from: FNV1a.hash(sessionId)), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `,"principal":{...}`: who is calling, as authenticated at the front (never the
    /// credential itself: tokens are not passed through to executors).
    static func appendPrincipal(_ p: Principal, to out: inout [UInt8]) {
        out += ",\"principal\":{\"subject\":".utf8
        JSONValue.appendQuoted(p.subject, to: &out)
        if let c = p.clientId { out += ",\"clientId\":".utf8; JSONValue.appendQuoted(c, to: &out) }
        out += ",\"scopes\":[".utf8
        for (i, scope) in p.scopes.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.appendQuoted(scope, to: &out)
        }
        out += "],\"auth\":\"".utf8
        out += p.method.rawValue.utf8
        out += "\"}".utf8
    }
}
