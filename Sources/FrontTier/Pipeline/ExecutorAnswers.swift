import CSupport
import Glibc
import MCPCore
import SchemaValidation
import WireProtocol

/// What a call's executor sends back, written to the client that asked: the answer (the
/// executor's JSON spliced into the JSON-RPC message without a copy), its notifications (they
/// turn the answer into an SSE stream), and requests its tool makes of the client. Every
/// decision on a reply (tool error, stateless status, input required) is made on its scanned
/// top-level members (`sy_json_scan_reply`), never on a substring.
/// Thread: the loop thread.
final class ExecutorAnswers: CallResponder {
    private unowned(unsafe) let s: FrontServices
    private var writer: ResponseWriter { s.writer }

    init(_ services: FrontServices) { s = services }

    // MARK: CallResponder

    func answered(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                  chunk: UnsafeMutablePointer<sy_chunk_t>?) {
        // Output checks: bounded, and valid JSON in valid UTF-8 (the scan validates as it goes).
        let t = s.metrics.tool(call.tool)
        t.duration.observe((s.loop.now &- call.startedAt) &* 1_000_000)
        guard payload.count <= s.options.maxResultBytes else {
            s.log.warning("result too large; answered with an error", [("tool", call.tool),
                          ("bytes", String(payload.count)), ("limit", String(s.options.maxResultBytes))])
            failed(call, ProtocolError(.internalError,
                                       "the result of \(call.tool) is larger than \(s.options.maxResultBytes) bytes"))
            return
        }
        var reply = sy_reply_members_t()
        let valid = payload.count > 0
            && sy_json_scan_reply(payload.baseAddress!.assumingMemoryBound(to: UInt8.self), payload.count, &reply) == 0
        guard valid, type == .result || type == .error else {
            s.log.warning("result is not valid JSON in UTF-8; answered with an error", [("tool", call.tool),
                          ("bytes", String(payload.count))])
            failed(call, ProtocolError(.internalError, "the result of \(call.tool) is not valid JSON in UTF-8"))
            return
        }
        let toolError = type == .result && Self.isTrue(reply.is_error, in: payload)
        if type == .result && !toolError && call.kind == .tool && !call.fromCache, let schema = Self.outputSchema(call.tool, s),
           !(call.modern && Envelope.string(payload, reply.result_type) == "input_required") {
            // The tool declares an outputSchema: its structuredContent must be there and conform
            // (in a result, not in an input-required answer, which is no result yet).
            let problem: String?
            if reply.structured.kind == Int32(SY_JSON_ABSENT) {
                problem = "has no structuredContent, which its outputSchema requires"
            } else {
                problem = schema.validate(wellFormed: Envelope.bytes(payload, reply.structured)).map {
                    "has structuredContent that does not conform to its outputSchema: \($0)"
                }
            }
            if let problem {
                s.log.warning("result does not conform to the tool's outputSchema; answered with an error",
                              [("tool", call.tool), ("problem", problem)])
                failed(call, ProtocolError(.internalError, "the result of \(call.tool) \(problem)"))
                return
            }
        }
        if type != .result { t.error.increment() }
        else if toolError { t.toolError.increment() }
        else { t.ok.increment() }
        // A fresh success is kept for the next call with the same key; errors and
        // input-required results never are.
        if let ticket = call.resultCache, type == .result, !toolError, let cache = s.resultCache,
           reply.result_type.kind == Int32(SY_JSON_ABSENT) || Envelope.string(payload, reply.result_type) == "complete" {
            cache.store(ticket.key, ttlMs: ticket.ttlMs, Array(payload))
        }
        let c = call.connection
        guard !c.isClosed else { return }
        let member: StaticString = type == .result ? ",\"result\":" : ",\"error\":"
        if let batch = call.batch {
            var json = Array("{\"jsonrpc\":\"2.0\",\"id\":".utf8) + call.idJSON
            json += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
            json += payload
            json.append(UInt8(ascii: "}"))
            batch.answer(call.batchIndex, json)
            return
        }
        if call.slot.streaming {
            var json = Array("{\"jsonrpc\":\"2.0\",\"id\":".utf8) + call.idJSON
            json += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
            json += call.modern && type == .result ? stamped(call, payload, reply) : Array(payload)
            json.append(UInt8(ascii: "}"))
            writer.endStream(call.slot, c, json)
            return
        }
        // Stateless answers are stamped: `resultType` and cache hints go in after the result's
        // opening brace (the rest follows as a slice); an input-required result is rewritten.
        var status = 200
        var opening: [UInt8] = []
        var body = payload
        var rewritten: [UInt8]?
        if call.modern {
            if type == .error {
                status = ProtocolError.statelessStatus(ofExecutorError: Self.integer(reply.code, in: payload))
            } else if payload.first == UInt8(ascii: "{") {
                if let whole = inputRequired(call, payload, reply) {
                    rewritten = whole
                } else {
                    opening = stampOpening(call, payload, reply)
                    body = UnsafeRawBufferPointer(rebasing: payload[1...])
                }
            }
        }
        let format: AnswerFormat = status == 200 ? call.format : .json
        let lines = call.slot.lineFramed
        var copied: [UInt8]? = rewritten
        // JSON between tokens may hold raw newlines; an SSE data line (or a stdio line) may not.
        if format == .sse || lines, copied == nil, memchrAny(body, 0x0A) || memchrAny(body, 0x0D) {
            copied = body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        }
        let prefixLength = 22 + call.idJSON.count + member.utf8CodeUnitCount + opening.count
        let jsonLength = prefixLength + (copied?.count ?? body.count) + 1
        // The head and the message's opening in one buffer; the result follows as a slice.
        var prefix: [UInt8] = []
        prefix.reserveCapacity(320 + call.idJSON.count + opening.count) // a head with a session id fits
        writer.appendHead(to: &prefix, call.slot, status: status, format: format, jsonLength: jsonLength)
        prefix.append(literal: "{\"jsonrpc\":\"2.0\",\"id\":")
        prefix += call.idJSON
        prefix += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
        prefix += opening
        call.slot.append(.bytes(prefix))
        if let copied {
            call.slot.append(.bytes(copied))
        } else if let chunk {
            call.slot.append(.slice(chunk, body))
        } else {
            call.slot.append(.bytes(Array(body)))
        }
        call.slot.append(.text(lines ? "}\n" : format == .sse ? "}\n\n" : "}"))
        c.finish(call.slot)
    }

    func failed(_ call: PendingCall, _ error: ProtocolError) {
        s.metrics.tool(call.tool).error.increment()
        guard let target = call.target else { return }
        let c = target.connection
        if call.slot.streaming {
            let json = error.responseJSON(idJSON: String(decoding: call.idJSON, as: UTF8.self))
            writer.endStream(call.slot, c, Array(json.utf8))
            return
        }
        writer.error(target, error)
    }

    /// A notification of a call in flight: the answer becomes an SSE stream (when the client
    /// accepts one) and the notification goes out at once.
    func event(_ call: PendingCall, type: FrameType, payload: [UInt8]) {
        let c = call.connection
        guard call.acceptsSSE, !c.isClosed, payload.first == UInt8(ascii: "{") else { return }
        var json: [UInt8]
        switch type {
        case .progress:
            guard let token = call.progressToken else { return }
            json = Array("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",".utf8)
            json += "\"params\":{\"progressToken\":".utf8
            json += token
            if payload.count > 2 { json.append(UInt8(ascii: ",")) }
            json += payload.dropFirst()
            json.append(UInt8(ascii: "}"))
        case .notify:
            guard payload.count > 2 else { return }
            if Self.mayWithdraw(payload), let withdrawal = Self.withdrawal(call, payload) {
                guard !withdrawal.isEmpty else { return }
                json = withdrawal
            } else {
                json = Array("{\"jsonrpc\":\"2.0\",".utf8) + payload.dropFirst()
            }
        default:
            return
        }
        writer.openStream(call.slot)
        writer.event(call.slot, c, json)
    }

    /// A request a tool makes of the client (handshake era): sent on the call's SSE stream with
    /// an id that names the executor, sealed for the call's session (ClientRequestIds); the
    /// client's answer comes back through ClientAnswers.
    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8]) {
        guard case .object(let o)? = try? JSONValue.parse(payload), let rid = o["requestId"],
              case .number = rid, case .string(let method)? = o["method"] else { return }
        let ridText = rid.compactJSON()
        let c = call.connection
        guard call.acceptsSSE, !call.modern, !c.isClosed, let session = call.sessionId else {
            let e = ProtocolError(.internalError, "the client cannot receive requests on this call (no SSE stream)")
            link.respond(requestId: ridText, member: "error", json: e.errorObjectJSON)
            return
        }
        let id = ClientRequestIds(sessions: s.sessions).make(executor: link.name, requestId: ridText, session: session,
                                                          origin: s.sharedAnswers?.origin)
        if call.clientRequests == nil { call.clientRequests = [:] }
        if call.clientRequests!.count < Self.withdrawableRequests { call.clientRequests![ridText] = id }
        var msg: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": .string(id), "method": .string(method)]
        if let p = o["params"] { msg["params"] = p }
        writer.openStream(call.slot)
        writer.event(call.slot, c, Array(JSONValue.object(msg).compactJSON().utf8))
    }

    /// Requests of one call whose withdrawal is passed on; a tool asking more than this of one
    /// client during one call has its later ones withdrawn only by the call's end.
    static let withdrawableRequests = 1_000

    /// Whether a NOTIFY may be a withdrawal: only then is it parsed, so log messages cost one
    /// byte search, not a parse. The decision is `withdrawal`'s, on the parsed notification.
    private static func mayWithdraw(_ payload: [UInt8]) -> Bool {
        let method: StaticString = "notifications/cancelled"
        return payload.withUnsafeBytes { p in
            sy_memmem(p.baseAddress!, p.count, method.utf8Start, method.utf8CodeUnitCount) != nil
        }
    }

    /// A NOTIFY `notifications/cancelled` withdraws a request the call's tool made of the client
    /// (proto §5.9): the notification for the client, under the id the client got; empty when it
    /// names no request of this call (dropped, never passed on with the executor's id); nil when
    /// it is another notification.
    private static func withdrawal(_ call: PendingCall, _ payload: [UInt8]) -> [UInt8]? {
        guard case .object(let o)? = try? JSONValue.parse(payload),
              o["method"]?.stringValue == "notifications/cancelled" else { return nil }
        guard case .object(var params)? = o["params"], let rid = params["requestId"],
              let id = call.clientRequests?.removeValue(forKey: rid.compactJSON()) else { return [] }
        params["requestId"] = .string(id)
        return Array(JSONValue.object(["jsonrpc": .string("2.0"), "method": .string("notifications/cancelled"),
                                       "params": .object(params)]).compactJSON().utf8)
    }

    // MARK: stateless results

    /// A stateless result, stamped: `resultType` everywhere, cache hints on reads;
    /// input-required results get their `requestState` sealed for the retry.
    private func stamped(_ call: PendingCall, _ payload: UnsafeRawBufferPointer,
                         _ reply: sy_reply_members_t) -> [UInt8] {
        guard payload.first == UInt8(ascii: "{") else { return Array(payload) }
        if let whole = inputRequired(call, payload, reply) { return whole }
        return stampOpening(call, payload, reply) + payload.dropFirst()
    }

    /// An input-required result with its `requestState` sealed for the client; nil for any
    /// other result.
    private func inputRequired(_ call: PendingCall, _ payload: UnsafeRawBufferPointer,
                               _ reply: sy_reply_members_t) -> [UInt8]? {
        guard Envelope.string(payload, reply.result_type) == "input_required",
              case .object(var o)? = try? JSONValue.parse(payload) else { return nil }
        if case .string(let state)? = o["requestState"] {
            o["requestState"] = .string(s.sessions.seal(state, subject: PendingCall.stateSubject(
                kind: call.kind, name: call.tool, owner: call.owner)))
        }
        return Array(JSONValue.object(o).compactJSON().utf8)
    }

    /// What replaces a stateless result's opening brace: the brace, then `resultType` (unless
    /// the executor set one) and, for resources, the cache hints.
    private func stampOpening(_ call: PendingCall, _ payload: UnsafeRawBufferPointer,
                              _ reply: sy_reply_members_t) -> [UInt8] {
        var extra = reply.result_type.kind != Int32(SY_JSON_ABSENT) ? "" : "\"resultType\":\"complete\","
        if call.kind == .resource { extra += "\"ttlMs\":0,\"cacheScope\":\"private\"," }
        if payload.count <= 2 { extra = String(extra.dropLast()) }
        return [UInt8(ascii: "{")] + Array(extra.utf8)
    }

    /// The compiled outputSchema of `tool`, found by its name's bytes (no String hashing).
    private static func outputSchema(_ tool: String, _ s: FrontServices) -> CompiledSchema? {
        var name = tool
        return name.withUTF8 { s.pool.catalog.outputSchemas.schema(named: UnsafeRawBufferPointer($0)) }
    }

    // MARK: scanned members

    private static func isTrue(_ v: sy_json_value_t, in payload: UnsafeRawBufferPointer) -> Bool {
        v.kind == Int32(SY_JSON_BOOL) && v.span.len == 4
    }

    private static func integer(_ v: sy_json_value_t, in payload: UnsafeRawBufferPointer) -> Int? {
        v.kind == Int32(SY_JSON_NUMBER) ? Int(Envelope.text(payload, v.span)) : nil
    }
}

@inline(__always)
func memchrAny(_ b: UnsafeRawBufferPointer, _ byte: UInt8) -> Bool {
    guard let base = b.baseAddress, b.count > 0 else { return false }
    return memchr(base, Int32(byte), b.count) != nil
}
