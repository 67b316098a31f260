import CSupport

/// A JSON-RPC message as located by the C scanner: spans into the body, nothing decoded.
public struct Envelope {
    public var raw = sy_envelope_t()

    public init() {}

    /// Scans `body`; throws the JSON-RPC error a malformed body deserves.
    public static func scan(_ body: UnsafeRawBufferPointer) throws(ProtocolError) -> Envelope {
        var e = Envelope()
        try e.scan(body)
        return e
    }

    /// Scans `body` into this envelope, in place (the envelope is 228 bytes: no copy of it).
    public mutating func scan(_ body: UnsafeRawBufferPointer) throws(ProtocolError) {
        let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let rc = sy_json_scan_envelope(base ?? UnsafePointer(bitPattern: 1)!, base == nil ? 0 : body.count, &raw)
        if rc != 0 || base == nil {
            throw ProtocolError(.parseError, "Parse error: the body is not valid JSON")
        }
    }

    public var isObject: Bool { raw.top_kind == Int32(SY_JSON_OBJECT) }
    public var isBatch: Bool { raw.top_kind == Int32(SY_JSON_ARRAY) }
    public var hasMethod: Bool { raw.method.kind == Int32(SY_JSON_STRING) }
    public var hasID: Bool { raw.id.kind != Int32(SY_JSON_ABSENT) }
    /// A response from the client (to a server-initiated request).
    public var isResponse: Bool {
        raw.method.kind == Int32(SY_JSON_ABSENT) && (raw.result.kind != 0 || raw.error.kind != 0)
    }

    /// The id as JSON text to echo back (string ids keep their quotes), when it is a valid id.
    public func idJSON(in body: UnsafeRawBufferPointer) -> String? {
        let v = raw.id
        switch Int(v.kind) {
        case Int(SY_JSON_NUMBER):
            return Envelope.text(body, v.span)
        case Int(SY_JSON_STRING):
            return "\"" + Envelope.text(body, v.span) + "\""
        default:
            return nil
        }
    }

    /// The id's bytes as JSON (with quotes for strings), as a range of the body.
    public func idRange() -> Range<Int>? {
        let v = raw.id
        if v.kind == Int32(SY_JSON_NUMBER) { return Int(v.span.off)..<Int(v.span.off + v.span.len) }
        if v.kind == Int32(SY_JSON_STRING) { return Int(v.span.off) - 1..<Int(v.span.off + v.span.len) + 1 }
        return nil
    }

    /// Checks the members JSON-RPC 2.0 requires of a request or notification.
    public func validateRequest(in body: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard isObject else { throw ProtocolError(.invalidRequest, "Invalid Request: expected a JSON-RPC object") }
        guard raw.jsonrpc.kind == Int32(SY_JSON_STRING), Envelope.text(body, raw.jsonrpc.span) == "2.0" else {
            throw ProtocolError(.invalidRequest, "Invalid Request: jsonrpc must be \"2.0\"")
        }
        let idKind = Int(raw.id.kind)
        if idKind != Int(SY_JSON_ABSENT) && idKind != Int(SY_JSON_NUMBER) && idKind != Int(SY_JSON_STRING) {
            throw ProtocolError(.invalidRequest, "Invalid Request: id must be a string or a number")
        }
        if raw.method.kind != Int32(SY_JSON_ABSENT) && raw.method.kind != Int32(SY_JSON_STRING) {
            throw ProtocolError(.invalidRequest, "Invalid Request: method must be a string")
        }
        let pk = Int(raw.params.kind)
        if pk != Int(SY_JSON_ABSENT) && pk != Int(SY_JSON_OBJECT) {
            throw ProtocolError(.invalidRequest, "Invalid Request: params must be an object")
        }
    }

    /// The method name (escape sequences decoded when present).
    public func method(in body: UnsafeRawBufferPointer) -> String? {
        Envelope.string(body, raw.method)
    }

    /// params.name when it is a string.
    public func name(in body: UnsafeRawBufferPointer) -> String? { Envelope.string(body, raw.name) }

    /// A span's bytes as a String (no unescaping).
    public static func text(_ body: UnsafeRawBufferPointer, _ s: sy_span_t) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: body[Int(s.off)..<Int(s.off + s.len)]), as: UTF8.self)
    }

    public static func bytes(_ body: UnsafeRawBufferPointer, _ v: sy_json_value_t) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: body[Int(v.span.off)..<Int(v.span.off + v.span.len)])
    }

    /// A string value, unescaped; nil when the value is not a string.
    public static func string(_ body: UnsafeRawBufferPointer, _ v: sy_json_value_t) -> String? {
        guard v.kind == Int32(SY_JSON_STRING) else { return nil }
        if v.escaped == 0 { return text(body, v.span) }
        // Rare: decode the quoted literal properly.
        let quoted = UnsafeRawBufferPointer(rebasing: body[Int(v.span.off) - 1..<Int(v.span.off + v.span.len) + 1])
        return JSONValue.parseString(quoted)
    }

    /// The params object decoded (only for the rare methods that need it).
    public func params(in body: UnsafeRawBufferPointer) -> JSONValue? {
        guard raw.params.kind == Int32(SY_JSON_OBJECT) else { return nil }
        return try? JSONValue.parse(Envelope.bytes(body, raw.params))
    }
}
