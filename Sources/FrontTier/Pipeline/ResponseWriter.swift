import CLibUV
import MCPCore
import Metrics

/// The one place where answers are rendered: JSON-RPC results and errors as one JSON body or
/// one SSE event, SSE streams, plain HTTP answers. The HTTP status of a JSON-RPC error comes
/// from the error value (`ProtocolError.httpStatus`, ErrorCode's table), never from bytes.
/// Every answer's head is counted here once (metrics, access log).
/// Thread: the loop thread.
final class ResponseWriter {
    let metrics: FrontMetrics
    /// Set when the front writes an access log.
    var accessLog: AccessLog?
    /// Set when the front writes an audit log (`AuditStage` starts each request's line).
    var auditLog: AuditLog?
    /// The front is draining: answers close their connection.
    @exclusivity(unchecked) var draining = false

    init(metrics: FrontMetrics) { self.metrics = metrics }

    func keepAlive(_ slot: ResponseSlot) -> Bool { !slot.closeAfter && !draining }

    /// Counts an answer once, when its head is queued.
    func count(_ slot: ResponseSlot, _ status: Int) {
        guard !slot.counted else { return }
        slot.counted = true
        metrics.answered(method: slot.methodIndex, status: status, startedNs: slot.startedNs)
        if let accessLog {
            accessLog.record(method: LabelValues.method[slot.methodIndex], status: status,
                             durationNs: uv_hrtime() &- slot.startedNs, tool: slot.tool,
                             requestId: slot.requestId, traceparent: slot.traceparent)
        }
        if let note = slot.audit, let auditLog {
            for record in note.records(status: status, durationNs: uv_hrtime() &- slot.startedNs) {
                auditLog.record(record)
            }
        }
    }

    // MARK: JSON-RPC answers

    /// A result: `{"jsonrpc":"2.0","id":…,"result":<result>}`.
    func result(_ t: AnswerTarget, _ result: [UInt8], extra: [(String, String)] = []) {
        var body: [UInt8] = []
        body.reserveCapacity(40 + (t.id?.count ?? 4) + result.count)
        body += "{\"jsonrpc\":\"2.0\",\"id\":".utf8
        body += t.id ?? Array("null".utf8)
        body += ",\"result\":".utf8
        body += result
        body.append(UInt8(ascii: "}"))
        message(t, status: 200, body, extra: extra)
    }

    func result(_ t: AnswerTarget, _ result: String, extra: [(String, String)] = []) {
        self.result(t, Array(result.utf8), extra: extra)
    }

    /// An error with the request's id (null when it cannot be read). Errors that carry an HTTP
    /// status other than 200 go out as one JSON body whatever the client accepts.
    func error(_ t: AnswerTarget, _ e: ProtocolError, extra: [(String, String)] = []) {
        metrics.error(FrontMetrics.kind(of: e))
        let body = Array(e.responseJSON(idJSON: t.id.map { String(decoding: $0, as: UTF8.self) }).utf8)
        var extra = extra
        if e.httpStatus == 503 && !extra.contains(where: { $0.0 == "Retry-After" }) {
            extra.append(("Retry-After", "1"))
        }
        message(t, status: e.httpStatus, body, extra: extra)
    }

    /// One JSON-RPC message (or a batch's array of them) as the whole answer; a batch member's
    /// message goes to its batch.
    func message(_ t: AnswerTarget, status: Int, _ json: [UInt8], extra: [(String, String)]) {
        if let batch = t.batch {
            batch.answer(t.batchIndex, json)
            return
        }
        if t.slot.lineFramed {
            count(t.slot, status)
            t.slot.appendEventChunk(Self.sseSafe(json))
            t.connection.finish(t.slot)
            return
        }
        let format: AnswerFormat = status == 200 ? t.format : .json
        var head: [UInt8] = []
        head.reserveCapacity(200)
        appendHead(to: &head, t.slot, status: status, format: format, jsonLength: json.count, extra: extra)
        t.slot.append(.bytes(head))
        t.slot.append(.bytes(json))
        if format == .sse { t.slot.append(.text("\n\n")) }
        t.connection.finish(t.slot)
    }

    /// The head of a one-message answer (JSON, or one SSE event) and the SSE event's framing.
    func appendHead(to head: inout [UInt8], _ slot: ResponseSlot, status: Int, format: AnswerFormat,
                    jsonLength: Int, extra: [(String, String)] = []) {
        count(slot, status)
        guard !slot.lineFramed else { return }
        let ka = keepAlive(slot)
        switch format {
        case .json:
            HTTPResponse.appendHead(to: &head, status: status, contentType: "application/json",
                                    contentLength: jsonLength, keepAlive: ka, extra: extra)
        case .sse:
            let framing: StaticString = "event: message\ndata: "
            HTTPResponse.appendHead(to: &head, status: status, contentType: "text/event-stream",
                                    contentLength: framing.utf8CodeUnitCount + jsonLength + 2, keepAlive: ka,
                                    extra: [("Cache-Control", "no-cache")] + extra)
            head += UnsafeBufferPointer(start: framing.utf8Start, count: framing.utf8CodeUnitCount)
        }
        if !ka { slot.closeAfter = true }
    }

    // MARK: plain HTTP answers

    /// 202 Accepted with no body (notifications and client answers); nothing for a batch member.
    func accepted(_ t: AnswerTarget) {
        if let batch = t.batch {
            batch.answer(t.batchIndex, nil)
            return
        }
        plain(t.slot, t.connection, status: 202, contentType: nil, body: "")
    }

    /// An answer that is not a JSON-RPC message.
    func plain(_ slot: ResponseSlot, _ c: any AnswerChannel, status: Int, contentType: String?, body: String,
               extra: [(String, String)] = []) {
        count(slot, status)
        // A line-framed answer has nothing but JSON-RPC messages: no body for a plain answer.
        guard !slot.lineFramed else { c.finish(slot); return }
        let ka = keepAlive(slot)
        slot.append(.text(HTTPResponse.head(status: status, contentType: contentType, contentLength: body.utf8.count,
                                            keepAlive: ka, extra: extra)))
        if !body.isEmpty { slot.append(.text(body)) }
        if !ka { slot.closeAfter = true }
        c.finish(slot)
    }

    // MARK: SSE streams

    /// Turns the answer into an SSE stream (chunked); later events follow with `event`.
    func openStream(_ slot: ResponseSlot) {
        guard !slot.streaming else { return }
        slot.streaming = true
        count(slot, 200)
        guard !slot.lineFramed else { return }
        let ka = keepAlive(slot)
        slot.append(.text(HTTPResponse.streamHead(keepAlive: ka)))
        if !ka { slot.closeAfter = true }
    }

    /// One event on an open stream, written at once if the answer is first in line.
    func event(_ slot: ResponseSlot, _ c: any AnswerChannel, _ json: [UInt8], id: String? = nil) {
        slot.appendEventChunk(Self.sseSafe(json), id: id)
        c.push(slot)
    }

    /// The last event of a stream, then the end of the chunked body.
    func endStream(_ slot: ResponseSlot, _ c: any AnswerChannel, _ json: [UInt8]) {
        slot.appendEventChunk(Self.sseSafe(json))
        if !slot.lineFramed { slot.append(.text("0\r\n\r\n")) }
        c.finish(slot)
    }

    /// Raw CR/LF can only be whitespace between JSON tokens: blanked for an SSE data line (or
    /// a stdio line).
    static func sseSafe(_ json: [UInt8]) -> [UInt8] {
        guard json.contains(0x0A) || json.contains(0x0D) else { return json }
        return json.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }
}
