import CSupport
import MCPCore
import Metrics
import WireProtocol

/// Calls that go to executors (tools, resources, prompts, completions) and the list methods,
/// for both protocol eras.
extension MCPEndpoint {
    /// Where a request stands: its id, how to answer, and its era's context.
    struct Request {
        var id: [UInt8]
        var format: AnswerFormat
        var keepAlive: Bool
        /// nil for the handshake era (2025-11-25 and earlier).
        var modern: ModernRequest.Context?
        var session: SessionTokens.Session?
        /// This front's id for the request (logs on both sides of the executor link).
        var requestId: String = ""
        /// W3C trace context, from the `traceparent` header or `_meta.traceparent`.
        var traceparent: String?
    }

    /// A request id unique to this front process: `<front>-<pid>-<counter>`.
    func nextRequestId() -> String {
        requestCounter &+= 1
        return requestIdPrefix + String(requestCounter)
    }

    /// The `traceparent` of a request when it is well formed (W3C Trace Context, version 00).
    static func traceparent(_ req: HTTPRequest, _ env: Envelope, _ body: UnsafeRawBufferPointer) -> String? {
        var v = req.header(.traceparent)
        if v == nil, env.raw.meta.kind == Int32(SY_JSON_OBJECT), memmemAny(Envelope.bytes(body, env.raw.meta), "traceparent"),
           case .object(let m)? = try? JSONValue.parse(Envelope.bytes(body, env.raw.meta)) {
            v = m["traceparent"]?.stringValue
        }
        guard let t = v else { return nil }
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              t.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }),
              parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16) else { return nil }
        return t
    }

    /// The CALL meta context (proto/executor-protocol.md, "CALL meta"), built without decoding
    /// the client's `_meta`: its bytes are spliced in as they came.
    func callContext(_ env: Envelope, _ body: UnsafeRawBufferPointer, _ r: Request, cancelHash: UInt64?,
                     inputResponses: [UInt8]? = nil, requestState: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += (r.modern != nil ? "{\"era\":\"modern\"" : "{\"era\":\"legacy\"").utf8
        if let m = r.modern {
            out += ",\"protocolVersion\":".utf8
            JSONValue.appendQuoted(m.protocolVersion, to: &out)
            out += ",\"clientCapabilities\":".utf8
            m.clientCapabilities.write(into: &out)
            if let l = m.logLevel { out += ",\"logLevel\":".utf8; JSONValue.appendQuoted(l, to: &out) }
        } else if let session = r.session {
            out += ",\"protocolVersion\":".utf8
            JSONValue.appendQuoted(session.protocolVersion, to: &out)
            out += ",\"clientCapabilities\":".utf8
            out += session.capabilitiesJSON.utf8
            if let l = sessions.level(session.id) { out += ",\"logLevel\":".utf8; JSONValue.appendQuoted(l, to: &out) }
        }
        if let state = requestState { out += ",\"requestState\":".utf8; JSONValue.appendQuoted(state, to: &out) }
        out += ",\"requestId\":".utf8
        JSONValue.appendQuoted(r.requestId, to: &out)
        if let cancelHash {
            out += ",\"cancelKey\":\"".utf8
            CallRouter.appendCancelHash(cancelHash, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if let tp = r.traceparent { out += ",\"traceparent\":".utf8; JSONValue.appendQuoted(tp, to: &out) }
        if env.raw.meta.kind == Int32(SY_JSON_OBJECT) {
            out += Array(",\"_meta\":".utf8)
            out += Envelope.bytes(body, env.raw.meta)
        }
        if let inputResponses {
            out += Array(",\"inputResponses\":".utf8)
            out += inputResponses
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Sends a call of `kind` on `name` to an executor; the answer comes back through `deliver`.
    func startCall(_ kind: CallPayload.Kind, name: String, arguments: sy_json_value_t?, _ env: Envelope,
                   _ body: UnsafeRawBufferPointer, _ req: HTTPRequest, _ r: Request, _ slot: ResponseSlot, _ c: HTTPConnection) {
        var args = UnsafeRawBufferPointer(start: nil, count: 0)
        if let a = arguments, a.kind == Int32(SY_JSON_OBJECT) { args = Envelope.bytes(body, a) }
        var r = r
        r.requestId = nextRequestId()
        r.traceparent = Self.traceparent(req, env, body)
        slot.requestId = r.requestId
        slot.traceparent = r.traceparent
        var state: String?
        var inputResponses: [UInt8]?
        if r.modern != nil, env.raw.params.kind == Int32(SY_JSON_OBJECT) {
            // Only the two retry members are looked for; the arguments are not decoded here.
            // The first of duplicate members counts (as in the envelope scan); a requestState
            // that is not a string is ignored.
            var sealed: String?, sawState = false
            let params = Envelope.bytes(body, env.raw.params)
            try? JSONValue.forEachMemberKeyBytes(params) { key, range in
                if !sawState, key.bytesEqual("requestState") {
                    sawState = true
                    sealed = JSONValue.parseString(UnsafeRawBufferPointer(rebasing: params[range]))
                } else if inputResponses == nil, key.bytesEqual("inputResponses") {
                    inputResponses = Array(params[range])
                }
            }
            if let sealed {
                guard let s = sessions.unseal(sealed, subject: "\(kind.rawValue):\(name)") else {
                    rpcError(slot, c, id: r.id, ProtocolError(.invalidParams, "Invalid params: requestState was tampered with or belongs to another request"),
                             format: r.format, keepAlive: r.keepAlive)
                    return
                }
                state = s
            }
        }
        let now = loop.now
        let call = PendingCall(connection: c, slot: slot, idJSON: r.id, format: r.format, tool: name,
                               arguments: args, argsChunk: args.count > 0 ? req.chunk : nil,
                               startedAt: now, deadline: router.deadline(for: name, now: now))
        call.kind = kind
        call.modern = r.modern != nil
        if call.modern { c.modernCalls[ObjectIdentifier(call)] = call }
        let cancelHash = r.session.map { CallRouter.cancelHashValue($0.id, r.id) }
        call.context = callContext(env, body, r, cancelHash: cancelHash, inputResponses: inputResponses, requestState: state)
        call.acceptsSSE = acceptsSSE(req)
        call.cancelKey = cancelHash
        if kind == .tool { slot.tool = name }
        let t = env.raw.progress_token
        if t.kind == Int32(SY_JSON_STRING) || t.kind == Int32(SY_JSON_NUMBER) {
            let range = t.kind == Int32(SY_JSON_STRING) ? Int(t.span.off) - 1..<Int(t.span.off + t.span.len) + 1
                                                          : Int(t.span.off)..<Int(t.span.off + t.span.len)
            call.progressToken = Array(body[range])
        }
        router.submit(call)
    }

    /// A list result for an era: `{"tools":[...]}` (plus resultType and cache hints when modern).
    /// One page of a list: `options.listPageSize` entries from the cursor's offset, with a
    /// `nextCursor` when more follow. Cursors are opaque (`base64url("<member>:<offset>")`); a
    /// cursor that is not one of ours is invalid params.
    func listResult(_ member: String, _ entries: [[UInt8]], cursor: String?, modern: Bool) throws(ProtocolError) -> [UInt8] {
        var start = 0
        if let cursor {
            guard let raw = Base64URL.decode(cursor), let text = String(validating: raw, as: UTF8.self),
                  text.hasPrefix(member + ":"), let n = Int(text.dropFirst(member.count + 1)), n >= 0, n <= entries.count else {
                throw ProtocolError(.invalidParams, "Invalid params: unknown cursor")
            }
            start = n
        }
        let end = min(entries.count, start + options.listPageSize)
        var out = Array("{\"\(member)\":[".utf8)
        for i in start..<end {
            if i > start { out.append(UInt8(ascii: ",")) }
            out += entries[i]
        }
        out.append(UInt8(ascii: "]"))
        if end < entries.count {
            out += Array(",\"nextCursor\":\"\(Base64URL.encode(Array("\(member):\(end)".utf8)))\"".utf8)
        }
        if modern { out += Array(",\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\"".utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// What the server offers, from what its executors serve.
    func capabilitiesJSON(modern: Bool) -> String {
        let changes = "true"
        var caps = ["\"tools\":{\"listChanged\":\(changes)}",
                    "\"resources\":{\"subscribe\":\(pool.catalog.subscriptions && !modern),\"listChanged\":\(changes)}",
                    "\"prompts\":{\"listChanged\":\(changes)}", "\"completions\":{}"]
        if !modern { caps.append("\"logging\":{}") }
        return "{" + caps.joined(separator: ",") + "}"
    }

    /// A modern result, stamped: `resultType` everywhere, cache hints on reads; input-required
    /// results get their `requestState` sealed for the retry.
    func stampModern(_ call: PendingCall, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        guard payload.first == UInt8(ascii: "{") else { return Array(payload) }
        if let whole = rewriteInputRequired(call, payload) { return whole }
        return stampOpening(call, payload) + payload.dropFirst()
    }

    /// An input-required result with its `requestState` sealed for the client; nil for any
    /// other result.
    func rewriteInputRequired(_ call: PendingCall, _ payload: UnsafeRawBufferPointer) -> [UInt8]? {
        guard memmemAny(payload, "\"resultType\":\"input_required\""),
              case .object(var o)? = try? JSONValue.parse(payload) else { return nil }
        if case .string(let state)? = o["requestState"] {
            o["requestState"] = .string(sessions.seal(state, subject: "\(call.kind.rawValue):\(call.tool)"))
        }
        return Array(JSONValue.object(o).compactJSON().utf8)
    }

    /// What replaces a stateless result's opening brace: the brace, then `resultType` (unless
    /// the executor set one) and, for resources, the cache hints.
    func stampOpening(_ call: PendingCall, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        var extra = memmemAny(payload, "\"resultType\"") ? "" : "\"resultType\":\"complete\","
        if call.kind == .resource { extra += "\"ttlMs\":0,\"cacheScope\":\"private\"," }
        if payload.count <= 2 { extra = String(extra.dropLast()) }
        return [UInt8(ascii: "{")] + Array(extra.utf8)
    }
}
