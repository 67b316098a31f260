import CSupport

/// One request's place in a connection's answer order (HTTP/1.1 pipelining answers in order).
///
/// Ownership: a `.slice` part holds one reference on its chunk, released once the part is
/// queued for writing (the output queue takes its own) or when the slot is dropped.
final class ResponseSlot {
    enum Part {
        case text(String)
        case bytes([UInt8])
        case slice(UnsafeMutablePointer<sy_chunk_t>, UnsafeRawBufferPointer)
    }

    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    @exclusivity(unchecked) private(set) var parts: [Part] = []
    @exclusivity(unchecked) var ready = false
    /// For metrics: the request's method (an index of the method label) and arrival time (ns).
    @exclusivity(unchecked) var methodIndex = 0
    @exclusivity(unchecked) var startedNs: UInt64 = 0
    /// The answer's head went out (counted once).
    @exclusivity(unchecked) var counted = false
    /// For the access log: the tool of a tools/call, the front's request id, the trace context.
    @exclusivity(unchecked) var tool: String?
    @exclusivity(unchecked) var requestId: String?
    @exclusivity(unchecked) var traceparent: String?
    /// The request's audit line, written with the answer's head (only with `--audit-log`).
    @exclusivity(unchecked) var audit: AuditNote?
    /// Close the connection once this answer is written.
    @exclusivity(unchecked) var closeAfter = false
    /// Every message of this answer is one line of JSON, with no HTTP head or SSE framing
    /// (the stdio transport's slots); set once by the channel that makes the slot.
    @exclusivity(unchecked) var lineFramed = false

    func append(_ p: Part) {
        if case .slice(let c, _) = p { sy_chunk_retain(c) }
        if parts.capacity == 0 { parts.reserveCapacity(4) } // head, body, tail: one allocation, not three
        parts.append(p)
    }

    func takeParts() -> [Part] {
        defer { parts.removeAll() }
        return parts
    }

    /// The answer is an SSE stream whose head is already queued (chunked transfer encoding).
    @exclusivity(unchecked) var streaming = false

    /// Appends one SSE event carrying `json` (a JSON-RPC message without raw newlines) as an
    /// HTTP chunk; in a line-framed slot, the message as one line.
    func appendEventChunk(_ json: [UInt8], id: String? = nil) {
        if lineFramed {
            append(.bytes(json))
            append(.text("\n"))
            return
        }
        var event = id.map { Array("id: \($0)\n".utf8) } ?? []
        event += Array("event: message\ndata: ".utf8) + json + Array("\n\n".utf8)
        append(.text(String(event.count, radix: 16) + "\r\n"))
        append(.bytes(event))
        append(.text("\r\n"))
    }

    deinit {
        for case .slice(let c, _) in parts { sy_chunk_release(c) }
    }
}
